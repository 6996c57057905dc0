"""GorgiasClient: one account's REST API over httpx, with auth, rate budget, retries and paging.

- Auth is an ``httpx.Auth`` (:mod:`.auth`): a bearer token, one forced refresh on a 401.
- Budget: every request first takes a slot from the account's shared :class:`RateBudget`
  (waiting visibly, or :class:`RateLimited` past the deadline, with nothing sent), and every
  answer's ``X-Gorgias-Account-Api-Call-Limit`` calibrates it (:class:`~.auth.Metered`).
- Retries follow :mod:`core.retry`: GET/PUT/DELETE on 429 (honouring ``Retry-after``), 5xx and
  transport errors; a POST only when Gorgias cannot have acted on it (connect failure, 429,
  503). A POST that may have reached Gorgias raises :class:`OutcomeUnknown` (REL-11). Every call
  has a deadline, waiting for budget included; a ``Retry-After`` past it ends the call. Inside a
  browser request it is never later than the request's deadline (``core/deadline.py``); a call
  with none of it left is not sent (:class:`RateLimited`, like a budget that ran out).
- Paging: :meth:`paginate` follows ``meta.next_cursor`` one page at a time (``pagination.py``);
  resource collections (``client.tickets`` …) are in ``resources.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import httpx

from ..core.account import Account
from ..core.account import UrlTemplate
from ..core.clock import Clock
from ..core.retry import RetryPolicy
from ..core.retry import parse_retry_after
from ..core.retry import status_outcome
from ..errors import ApiError
from ..errors import GorgiasUnreachable
from ..errors import OutcomeUnknown
from ..errors import RateLimited
from ..metrics import METRICS
from .auth import Metered
from .budget import Priority
from .budget import RateBudget
from .errors import error_for
from .models import AccountInfo
from .models import Customer
from .models import Integration
from .models import User
from .models import Widget
from .pagination import iterate_items
from .resources import Collection
from .resources import Tickets
from .resources import WritableCollection
from .transport import build_request
from .transport import default_headers
from .transport import exchange
from .transport import json_body
from .transport import timeout_within
from .transport import transport_outcome

log = logging.getLogger("gorgias_appkit.api")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
CALL_LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
API_RETRY = RetryPolicy(base=0.5, cap=20.0, max_attempts=5, deadline=90.0)
JSON = dict[str, Any]


class GorgiasClient:
    """Typed access to one account's API: ``kit.client_for("acme")``."""

    def __init__(
        self,
        account: Account,
        *,
        http: httpx.Client,
        urls: UrlTemplate,
        auth: httpx.Auth,
        clock: Clock,
        budget: RateBudget | None = None,
        priority: Priority = "interactive",
        deadline: float | None = None,
        policy: RetryPolicy = API_RETRY,
    ) -> None:
        self.account = account
        self.urls = urls
        self.http = http
        self.clock = clock
        self.budget = budget
        self.priority: Priority = priority
        self.deadline = deadline
        self.policy = policy
        self._auth = auth
        # Merged once: the kit's httpx client keeps the same default headers for its lifetime.
        self._headers = default_headers(http, {"Accept": "application/json"})
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
        """POST JSON; never resent once it may have reached Gorgias."""
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

    # -- one call --------------------------------------------------------------------------
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
        retries included (default: the client's, else the policy's 90 s).
        """
        method, url = method.upper(), self.urls.api_url(self.account, path)
        idempotent = method in IDEMPOTENT
        attempts = self.policy.start(self.clock, deadline=deadline or self.deadline)
        auth = self._metered(attempts.deadline_at)
        while True:
            if attempts.spent():  # the browser request's deadline passed: send nothing more
                raise RateLimited(
                    f"{method} {path} not sent: the request's deadline has passed",
                    account=self.account,
                )
            attempts.begin()
            request = build_request(
                self.http,
                method,
                url,
                params=params,
                json=json,
                headers=self._headers,
                timeout=timeout_within(self.http.timeout, attempts.remaining()),
            )
            try:
                response = exchange(
                    self.http,
                    request,
                    clock=self.clock,
                    deadline_at=attempts.deadline_at,
                    auth=auth,
                )
            except httpx.TransportError as exc:
                METRICS.inc("gorgias_api_calls_total", account=self.account, status="transport")
                if not transport_outcome(exc).may_resend(idempotent=idempotent):
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
                if response.status_code < 300:
                    return _decode(response, self.account)
                error, retry_after = self._error(method, path, response)
                # Only a 429 certainly means Gorgias did not act on a POST; a 503 may come
                # from a proxy after the backend acted, so it is resent only when idempotent.
                outcome = status_outcome(response.status_code, refused=(429,))
                if not outcome.may_resend(idempotent=idempotent):
                    raise error
            wait = attempts.next_wait(retry_after=retry_after)
            if wait is None:
                raise error
            log.info(
                "API retry %d in %.2fs: %s",
                attempts.count,
                wait,
                error,
                extra={"account": self.account},
            )
            attempts.wait(wait)

    def _metered(self, deadline_at: float) -> httpx.Auth:
        budget = self.budget
        if budget is None:
            return Metered(self._auth, take=lambda: None, seen=self._observe, now=self._now)

        def take() -> None:
            budget.acquire(self.account, priority=self.priority, deadline=deadline_at)

        return Metered(self._auth, take=take, seen=self._observe, now=self._now)

    def _error(
        self, method: str, path: str, response: httpx.Response
    ) -> tuple[ApiError, float | None]:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock.now())
        if status == 429:
            message = f"{method} {path}: rate limited"
            return RateLimited(message, account=self.account, retry_after=retry_after), retry_after
        return error_for(status, json_body(response), account=self.account), retry_after

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

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- account and shortcuts -------------------------------------------------------------
    def get_account(self) -> AccountInfo:
        """``GET /api/account`` as a record (``domain`` is the account name)."""
        return AccountInfo.from_json(self.get("/account"))

    def account_info(self) -> JSON:
        """``GET /api/account`` as raw JSON."""
        return self.get("/account")

    def latest_tickets(self, count: int = 10) -> list[JSON]:
        """Return the newest ``count`` tickets with a single request."""
        page = self.get(
            "/tickets", {"limit": max(1, min(count, 100)), "order_by": "created_datetime:desc"}
        )
        data = page.get("data")
        tickets = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
        return tickets[:count]  # never more than asked for, whatever the API sent


def _decode(response: httpx.Response, account: str) -> JSON:
    if response.status_code == 204 or not response.content:
        return {}
    body = json_body(response)
    if not isinstance(body, dict):
        raise ApiError(
            "the API answered something that is not a JSON object",
            account=account,
            status_code=response.status_code,
        )
    return body
