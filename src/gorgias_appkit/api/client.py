"""GorgiasClient: one account's REST API over httpx, with bearer auth, rate budget, retries, paging.

- Auth: a token from :meth:`TokenManager.access_token_for` (re-read at most every few seconds);
  a 401 triggers one forced refresh and one retry, never a loop; a 401 on the fresh token marks
  the installation ``needs_reauth``.
- Budget: every attempt first takes a slot from the account's shared :class:`RateBudget`
  (waiting visibly, or :class:`RateLimited` past the deadline, with nothing sent), and every
  answer's ``X-Gorgias-Account-Api-Call-Limit`` calibrates it.
- Retries: GET/PUT/DELETE on 429 (honouring ``Retry-after``), 5xx and transport errors, with
  capped full-jitter backoff inside a total deadline. POST is retried only after a 429 (refused
  before acting); if it may have reached Gorgias, :class:`OutcomeUnknown` says so (REL-11).
- Paging: :meth:`paginate` follows ``meta.next_cursor`` one page at a time (``pagination.py``);
  resource collections (``client.tickets`` …) are in ``resources.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import httpx

from ..core.account import UrlTemplate
from ..core.clock import Clock
from ..core.retry import Backoff
from ..core.retry import parse_retry_after
from ..core.secret import Secret
from ..errors import ApiError
from ..errors import GorgiasUnreachable
from ..errors import OutcomeUnknown
from ..errors import RateLimited
from ..errors import ServerError
from ..errors import Unauthorized
from ..metrics import METRICS
from ..tokens.manager import TokenManager
from .budget import Priority
from .budget import RateBudget
from .errors import error_for
from .models import Account
from .models import Customer
from .models import Integration
from .models import User
from .models import Widget
from .pagination import iterate_items
from .resources import Collection
from .resources import Tickets
from .resources import WritableCollection

log = logging.getLogger("gorgias_appkit.api")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
CALL_LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
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
        budget: RateBudget | None = None,
        priority: Priority = "interactive",
        deadline: float | None = None,
        backoff: Backoff | None = None,
        token_ttl: float = 5.0,
    ) -> None:
        self.account = account
        self.base_url = urls.base_url(account) + "/api"
        self.http = http
        self.tokens = tokens
        self.clock = clock
        self.budget = budget
        self.priority: Priority = priority
        self.deadline = deadline
        self.backoff = backoff or Backoff(base=0.5, cap=20.0, max_attempts=5, deadline=90.0)
        self.token_ttl = token_ttl
        self._token: tuple[Secret, float] | None = None
        self.tickets = Tickets(self)
        self.customers = Collection(self, "/customers", Customer)
        self.users = Collection(self, "/users", User)
        self.integrations = WritableCollection(self, "/integrations", Integration)
        self.widgets = WritableCollection(self, "/widgets", Widget)

    def __repr__(self) -> str:
        return f"GorgiasClient(account={self.account!r}, priority={self.priority!r})"

    # -- verbs -----------------------------------------------------------------------------
    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, deadline: float | None = None
    ) -> JSON:
        """GET ``/api{path}`` and return the decoded JSON object."""
        return self.request("GET", path, params=params, deadline=deadline)

    def post(
        self, path: str, json: Mapping[str, Any] | None = None, *, deadline: float | None = None
    ) -> JSON:
        """POST JSON; never retried once it may have reached Gorgias."""
        return self.request("POST", path, json=json, deadline=deadline)

    def put(
        self, path: str, json: Mapping[str, Any] | None = None, *, deadline: float | None = None
    ) -> JSON:
        """PUT JSON (idempotent: retried)."""
        return self.request("PUT", path, json=json, deadline=deadline)

    def delete(self, path: str, *, deadline: float | None = None) -> JSON:
        """DELETE (idempotent: retried); an empty 204 gives ``{}``."""
        return self.request("DELETE", path, deadline=deadline)

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = 100
    ) -> Iterator[JSON]:
        """Yield every item of a list endpoint, fetching one page at a time."""
        for item in iterate_items(self.get, path, params, limit=limit, account=self.account):
            yield dict(item)

    # -- the loop --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> JSON:
        """Send one API request with auth, rate budget, retries and typed errors.

        ``deadline`` is how many seconds the whole call may take, waiting for rate budget and
        retries included (default: the client's, else the backoff's 90 s).
        """
        if not path.startswith("/") or "//" in path or ".." in path:
            raise ValueError("path must be an absolute API path such as '/tickets'")
        method = method.upper()
        url = self.base_url + path
        started = self._now()
        limit = deadline if deadline is not None else self.deadline
        end = started + (limit if limit is not None else self.backoff.deadline)
        attempt = 0
        refreshed = False
        token = self._access_token()
        while True:
            attempt += 1
            if self.budget is not None:
                self.budget.acquire(self.account, priority=self.priority, deadline=end)
            sent_at = self._now()
            headers = {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/json"}
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=headers,
                    follow_redirects=False,
                    timeout=self._timeout(end - sent_at),
                )
            except httpx.TransportError as exc:
                METRICS.inc("gorgias_api_calls_total", account=self.account, status="transport")
                if method not in IDEMPOTENT and not isinstance(exc, _NOT_SENT):
                    raise OutcomeUnknown(
                        f"{method} {path} was interrupted ({type(exc).__name__}); "
                        "it may or may not have happened",
                        account=self.account,
                    ) from exc
                error: ApiError = GorgiasUnreachable(
                    f"{method} {path} failed: {type(exc).__name__}", account=self.account
                )
                retry_after = None
            else:
                status = response.status_code
                self._observe(response, sent_at)
                if status == 401 and not refreshed:
                    refreshed = True  # REL-07: one forced refresh, one retry
                    token = self._refresh(token)
                    continue
                if status == 401:
                    self.tokens.mark_needs_reauth(self.account, "API refused a fresh token")
                    raise Unauthorized(
                        "token refused after a refresh", account=self.account, status_code=401
                    )
                if status < 300:
                    return _decode(response, self.account)
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), now=self.clock.now()
                )
                if status == 429:
                    error = RateLimited(
                        f"{method} {path}: rate limited",
                        account=self.account,
                        retry_after=retry_after,
                    )
                else:
                    error = error_for(status, _json(response), account=self.account)
                if not (status == 429 or (isinstance(error, ServerError) and method in IDEMPOTENT)):
                    raise error
            wait = self.backoff.delay(attempt, retry_after=retry_after)
            if attempt >= self.backoff.max_attempts or self._now() + wait > end:
                raise error
            log.info(
                "API retry %d in %.2fs: %s", attempt, wait, error, extra={"account": self.account}
            )
            self.clock.sleep(wait)

    def _observe(self, response: httpx.Response, sent_at: float) -> None:
        status = response.status_code
        METRICS.inc("gorgias_api_calls_total", account=self.account, status=str(status))
        if status == 429:
            METRICS.inc("gorgias_api_429_total", account=self.account)
        if self.budget is not None:
            self.budget.observe(
                self.account,
                header=response.headers.get(CALL_LIMIT_HEADER),
                sent_at=sent_at,
                status=status,
            )

    def _access_token(self) -> Secret:
        cached, now = self._token, self._now()
        if cached is not None and now - cached[1] < self.token_ttl:
            return cached[0]
        token = self.tokens.access_token_for(self.account)
        self._token = (token, now)
        return token

    def _refresh(self, stale: Secret) -> Secret:
        token = self.tokens.access_token_for(self.account, stale=stale)
        self._token = (token, self._now())
        return token

    def _timeout(self, remaining: float) -> Any:
        configured = self.http.timeout
        if configured.read is not None and remaining >= configured.read:
            return httpx.USE_CLIENT_DEFAULT
        return httpx.Timeout(max(remaining, 0.1), connect=configured.connect)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- account and shortcuts -------------------------------------------------------------
    def get_account(self) -> Account:
        """``GET /api/account`` as a record (``domain`` is the account name)."""
        return Account.from_json(self.get("/account"))

    def account_info(self) -> JSON:
        """``GET /api/account`` as raw JSON."""
        return self.get("/account")

    def latest_tickets(self, count: int = 10) -> list[JSON]:
        """Return the newest ``count`` tickets with a single request."""
        page = self.get(
            "/tickets", {"limit": max(1, min(count, 100)), "order_by": "created_datetime:desc"}
        )
        data = page.get("data")
        return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _decode(response: httpx.Response, account: str) -> JSON:
    if response.status_code == 204 or not response.content:
        return {}
    body = _json(response)
    if not isinstance(body, dict):
        raise ApiError(
            "the API answered something that is not a JSON object",
            account=account,
            status_code=response.status_code,
        )
    return body
