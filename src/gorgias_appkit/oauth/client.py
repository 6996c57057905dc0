"""OAuthClient: the token, revocation and discovery calls over an injected ``httpx.Client``.

Every call has its own timeouts (``GORGIAS_TOKEN_CONNECT_TIMEOUT`` / ``…_READ_TIMEOUT``) and a
total deadline, never follows a redirect (a 3xx is an error, so the client secret can only reach
the validated account's endpoint: SEC-02), and is sent again only where :mod:`core.retry` says it
is safe:

- a connection that was never made, or an answer that says the request was not processed
  (429, 503 with ``Retry-After``), is retried with backoff inside the deadline (REL-04);
- an answer that never came (read timeout, connection dropped after the request left) may mean
  the server acted. A code is single-use and a rotating refresh token is spent on use, so the
  request is **never** sent again: the code exchange raises :class:`ExchangeOutcomeUnknown` (the
  merchant starts again) and a refresh raises :class:`RefreshOutcomeUnknown` (the installation
  records it and tries later). Sending the same code twice is a replay, which the server answers
  by revoking the whole grant (RFC 6749 §4.1.2); sending a rotated refresh token twice is reuse,
  answered the same way (REL-06, REL-03 as this project applies them: see docs/architecture.md);
- ``invalid_grant`` and every other answer are final (REL-05).

The refresh runs under the installation's database lock, so its whole deadline
(:data:`TOKEN_RETRY`) stays below the time a sibling waits for that lock (store/sql). Calls made
while answering a browser request end by the request's deadline (``core/deadline.py``), except a
refresh: the token manager runs it off the request, to completion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import httpx

from ..api.transport import exchange
from ..api.transport import json_body
from ..api.transport import timeout_within
from ..api.transport import transport_outcome
from ..core.account import Account
from ..core.account import UrlTemplate
from ..core.clock import Clock
from ..core.retry import Attempts
from ..core.retry import Outcome
from ..core.retry import RetryPolicy
from ..core.retry import parse_retry_after
from ..core.retry import status_outcome
from ..core.secret import Secret
from ..errors import ExchangeOutcomeUnknown
from ..errors import InvalidGrant
from ..errors import OAuthError
from ..errors import RefreshOutcomeUnknown
from ..errors import TokenEndpointError
from ..metrics import METRICS
from . import protocol
from .protocol import TokenResponse

log = logging.getLogger("gorgias_appkit.oauth")

# 4 tries within 25 s: below the 30 s a sibling waits for the installation lock (store/sql).
TOKEN_RETRY = RetryPolicy(base=0.5, cap=8.0, max_attempts=4, deadline=25.0)
DEFAULT_TOKEN_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass
class OAuthClient:
    """Calls one app's token, revocation and discovery endpoints for any validated account."""

    http: httpx.Client
    urls: UrlTemplate
    client_id: str
    client_secret: Secret
    clock: Clock
    auth_method: str = "client_secret_basic"
    default_lifetime: float = 86400.0
    policy: RetryPolicy = TOKEN_RETRY
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TOKEN_TIMEOUT)

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.client_id!r}, urls={self.urls.template!r})"

    # -- grants ----------------------------------------------------------------------------
    def exchange_code(
        self,
        account: Account,
        *,
        code: Secret,
        code_verifier: Secret,
        redirect_uri: str,
        deadline: float | None = None,
    ) -> TokenResponse:
        """Exchange a code (RFC 6749 §4.1.3); never sent twice once it may have arrived."""
        form = {
            "grant_type": "authorization_code",
            "code": code.reveal(),
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier.reveal(),
        }
        unknown = ExchangeOutcomeUnknown(
            "Gorgias did not answer in time, and the code cannot be sent twice: start again"
        )
        response, sent_at = self._post(account, "/oauth/token", form, unknown, deadline)
        return self._token_result(response, sent_at=sent_at, previous=None)

    def refresh(
        self, account: Account, *, refresh_token: Secret, deadline: float | None = None
    ) -> TokenResponse:
        """Refresh an access token; a refresh token that may have been spent is never resent."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
        unknown = RefreshOutcomeUnknown(
            "Gorgias did not answer in time; the refresh may or may not have happened "
            "(outcome unknown), so it is not sent again now"
        )
        response, sent_at = self._post(account, "/oauth/token", form, unknown, deadline)
        return self._token_result(response, sent_at=sent_at, previous=refresh_token)

    def revoke(
        self, account: Account, *, token: Secret, hint: str | None = "refresh_token"
    ) -> None:
        """Revoke ``token`` once (RFC 7009); a 200 means done, even for an unknown token.

        Without ``hint`` the server searches every token type (RFC 7009 §2.1). Failures are
        :class:`TokenEndpointError` with ``transient`` set when a later try may succeed (the
        revocation queue retries those).
        """
        form = {"token": token.reveal(), **({"token_type_hint": hint} if hint else {})}
        attempts = self.policy.start(self.clock)
        _check_time_left(attempts)
        request = self._request(account, "/oauth/revoke", form, attempts.remaining())
        try:
            response = exchange(
                self.http, request, clock=self.clock, deadline_at=attempts.deadline_at
            )
        except httpx.TransportError as exc:
            raise TokenEndpointError(f"cannot reach {account}'s revocation endpoint") from exc
        if response.status_code != 200:
            raise self._failure(response, what="revocation endpoint")

    # -- reads -----------------------------------------------------------------------------
    def get_json(self, url: str, *, bearer: Secret | None = None) -> tuple[int, object]:
        """GET a JSON document on an account's host (discovery, JWKS)."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer.reveal()}"
        attempts = self.policy.start(self.clock)
        _check_time_left(attempts)
        request = self.http.build_request(
            "GET", url, headers=headers, timeout=timeout_within(self.timeout, attempts.remaining())
        )
        try:
            response = exchange(
                self.http, request, clock=self.clock, deadline_at=attempts.deadline_at
            )
        except httpx.TransportError as exc:
            raise TokenEndpointError("cannot reach the account's server") from exc
        return response.status_code, json_body(response)

    # -- plumbing --------------------------------------------------------------------------
    def _post(
        self,
        account: Account,
        path: str,
        form: dict[str, str],
        unknown: TokenEndpointError,
        deadline: float | None,
    ) -> tuple[httpx.Response, datetime]:
        """POST with the retries the policy allows; return the answer and when it was sent."""
        attempts = self.policy.start(self.clock, deadline=deadline)
        while True:
            _check_time_left(attempts)
            attempts.begin()
            sent_at = self.clock.now()
            request = self._request(account, path, form, attempts.remaining())
            try:
                response = exchange(
                    self.http, request, clock=self.clock, deadline_at=attempts.deadline_at
                )
            except httpx.TransportError as exc:
                if transport_outcome(exc) is Outcome.UNKNOWN:
                    self._count("outcome_unknown")
                    log.warning("%s", unknown.description, extra={"account": account})
                    raise unknown from exc
                error = TokenEndpointError(f"cannot reach {account}'s token endpoint")
                error.__cause__ = exc
            else:
                if status_outcome(response.status_code) is not Outcome.REFUSED:
                    return response, sent_at
                error = self._refused(response, what="token endpoint")
            wait = attempts.next_wait(retry_after=error.retry_after)
            if wait is None:
                raise error
            reason = str(error.status_code or "connect")
            self._count(reason)
            log.info(
                "token endpoint retry %d in %.1fs (%s)",
                attempts.count,
                wait,
                reason,
                extra={"account": account},
            )
            attempts.wait(wait)

    @staticmethod
    def _count(reason: str) -> None:
        METRICS.inc("gorgias_token_endpoint_retries_total", reason=reason)

    def _request(
        self, account: Account, path: str, form: dict[str, str], remaining: float
    ) -> httpx.Request:
        url = self.urls.endpoint(account, path)
        headers = {"Accept": "application/json"}
        if self.auth_method == "client_secret_post":
            form = {
                **form,
                "client_id": self.client_id,
                "client_secret": self.client_secret.reveal(),
            }
        else:
            headers["Authorization"] = protocol.basic_auth_header(
                self.client_id, self.client_secret
            )
        return self.http.build_request(
            "POST", url, data=form, headers=headers, timeout=timeout_within(self.timeout, remaining)
        )

    def _token_result(
        self, response: httpx.Response, *, sent_at: datetime, previous: Secret | None
    ) -> TokenResponse:
        if response.status_code != 200:
            raise self._failure(response, what="token endpoint")
        return protocol.parse_token_response(
            json_body(response),
            sent_at=sent_at,
            default_lifetime=self.default_lifetime,
            previous_refresh_token=previous,
        )

    def _refused(self, response: httpx.Response, *, what: str) -> TokenEndpointError:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock.now())
        status = response.status_code
        return TokenEndpointError(
            f"the {what} answered {status}", status_code=status, retry_after=retry_after
        )

    def _failure(self, response: httpx.Response, *, what: str) -> OAuthError:
        status = response.status_code
        if 300 <= status < 400:
            return TokenEndpointError(
                f"the {what} answered a redirect, which is never followed",
                status_code=status,
                transient=False,
            )
        if status == 429 or status >= 500:
            return self._refused(response, what=what)
        error = protocol.parse_error_body(json_body(response), status)
        if isinstance(error, InvalidGrant):
            return error
        if error.error == "server_error":
            return TokenEndpointError(
                f"the {what} answered {status}", status_code=status, transient=False
            )
        return error


def _check_time_left(attempts: Attempts) -> None:
    """Send nothing once the browser request's deadline has passed (a later try may work)."""
    if attempts.spent():
        raise TokenEndpointError("not sent: the request's deadline has passed")
