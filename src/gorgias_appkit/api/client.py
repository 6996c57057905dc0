"""GorgiasClient: one account's REST API over httpx, with bearer auth, retries and paging.

- Auth: a token from :meth:`TokenManager.access_token_for`; a 401 triggers one forced refresh and
  one retry, never a loop; a 401 on the fresh token marks the installation ``needs_reauth``.
- Retries: GET/PUT/DELETE on 429 (honouring ``Retry-after``), 5xx and transport errors, with capped
  full-jitter backoff and a total deadline. POST is never retried blindly: if it may have reached
  the server, :class:`OutcomeUnknown` says so (REL-11).
- Paging: :meth:`paginate` follows ``meta.next_cursor`` one page at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import httpx

from ..accounts import UrlTemplate
from ..backoff import Backoff
from ..backoff import parse_retry_after
from ..clock import Clock
from ..errors import ApiError
from ..errors import GorgiasUnreachable
from ..errors import OutcomeUnknown
from ..errors import RateLimited
from ..errors import ServerError
from ..errors import Unauthorized
from ..tokens import TokenManager
from .errors import error_for

log = logging.getLogger("gorgias_appkit.api")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
JSON = dict[str, Any]


class GorgiasClient:
    """Typed access to one account's API: ``kit.client_for("acme")``."""

    def __init__(
        self,
        account: str,
        *,
        http: httpx.Client,
        urls: UrlTemplate,
        tokens: TokenManager,
        clock: Clock,
        backoff: Backoff | None = None,
    ) -> None:
        self.account = account
        self.base_url = urls.base_url(account) + "/api"
        self.http = http
        self.tokens = tokens
        self.clock = clock
        self.backoff = backoff or Backoff(base=0.5, cap=20.0, max_attempts=5, deadline=90.0)

    def __repr__(self) -> str:
        return f"GorgiasClient(account={self.account!r})"

    # -- verbs -----------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> JSON:
        """GET ``/api{path}`` and return the decoded JSON object."""
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Mapping[str, Any] | None = None) -> JSON:
        """POST JSON; never retried once it may have reached Gorgias."""
        return self.request("POST", path, json=json)

    def put(self, path: str, json: Mapping[str, Any] | None = None) -> JSON:
        """PUT JSON (idempotent: retried)."""
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> JSON:
        """DELETE (idempotent: retried); an empty 204 gives ``{}``."""
        return self.request("DELETE", path)

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = 100
    ) -> Iterator[JSON]:
        """Yield every item of a list endpoint, fetching one page at a time."""
        query = {**(params or {}), "limit": max(1, min(limit, 100))}
        while True:
            page = self.get(path, query)
            data = page.get("data")
            if not isinstance(data, list):
                raise ApiError("list response has no data", account=self.account, status_code=200)
            yield from (item for item in data if isinstance(item, dict))
            meta = page.get("meta")
            cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
            if not isinstance(cursor, str) or not cursor:
                return
            query = {**query, "cursor": cursor}

    # -- the loop --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> JSON:
        """Send one API request with auth, retries and typed errors."""
        if not path.startswith("/") or "//" in path or ".." in path:
            raise ValueError("path must be an absolute API path such as '/tickets'")
        url = self.base_url + path
        started = time.monotonic()
        attempt = 0
        refreshed = False
        token = self.tokens.access_token_for(self.account)
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/json"}
            try:
                response = self.http.request(
                    method, url, params=params, json=json, headers=headers, follow_redirects=False
                )
            except httpx.TransportError as exc:
                if method not in IDEMPOTENT and not isinstance(exc, _NOT_SENT):
                    raise OutcomeUnknown(
                        f"{method} {path} was interrupted; it may or may not have happened",
                        account=self.account,
                    ) from exc
                error: ApiError = GorgiasUnreachable(f"{method} {path} failed", account=self.account)
                retry_after = None
            else:
                status = response.status_code
                if status == 401 and not refreshed:
                    refreshed = True  # REL-07: one forced refresh, one retry
                    token = self.tokens.access_token_for(self.account, stale=token)
                    continue
                if status == 401:
                    self.tokens.mark_needs_reauth(self.account, "API refused a fresh token")
                    raise Unauthorized("token refused after a refresh", account=self.account,
                                       status_code=401)
                if status < 300:
                    return _decode(response)
                body = _json(response)
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), now=self.clock.now()
                )
                if status == 429:
                    error = RateLimited("rate limited", account=self.account,
                                        retry_after=retry_after)
                else:
                    error = error_for(status, body, account=self.account)
                retryable = status == 429 or isinstance(error, ServerError)
                if not retryable or method not in IDEMPOTENT:
                    raise error
            wait = self.backoff.delay(attempt, retry_after=retry_after)
            if attempt >= self.backoff.max_attempts or (
                time.monotonic() - started + wait > self.backoff.deadline
            ):
                raise error
            log.info("API retry %d in %.2fs: %s", attempt, wait, error,
                     extra={"account": self.account})
            self.clock.sleep(wait)

    # -- resources -------------------------------------------------------------------------
    def account_info(self) -> JSON:
        """``GET /api/account``."""
        return self.get("/account")

    def tickets(self, **params: Any) -> Iterator[JSON]:
        """Iterate tickets (``GET /api/tickets``)."""
        return self.paginate("/tickets", params)

    def latest_tickets(self, count: int = 10) -> list[JSON]:
        """Return the newest ``count`` tickets with a single request."""
        page = self.get("/tickets", {"limit": max(1, min(count, 100)),
                                     "order_by": "created_datetime:desc"})
        data = page.get("data")
        return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _decode(response: httpx.Response) -> JSON:
    if response.status_code == 204 or not response.content:
        return {}
    body = _json(response)
    if not isinstance(body, dict):
        raise ApiError("the API answered something that is not a JSON object",
                       account="?", status_code=response.status_code)
    return body
