"""OAuthClient: the token, revocation and discovery calls over an injected ``httpx.Client``.

Every call has timeouts, never follows a redirect (a 3xx is an error, so the client secret can
only reach the validated account's endpoint: SEC-02), and is retried only where it is safe:
- code exchange (REL-06): connect errors (nothing sent) are retried. A response lost after the
  request left is ambiguous: over HTTP a server that dropped the connection before acting looks
  exactly like one that acted first. It is retried **once, at once, with the same code**, never
  more: if the server had not acted, that retry installs; if it had, the retry is a code replay,
  which the server refuses and answers (RFC 6749 §4.1.2) by revoking the tokens of the first
  exchange. Those tokens never reached us, so nothing is lost and no orphan grant stays alive; the
  merchant gets :class:`ExchangeOutcomeUnknown` ("please retry the install");
- refresh: 5xx/429/connect errors back off with jitter and honour ``Retry-After`` (REL-04); a lost
  response is retried once with the same refresh token (REL-03); ``invalid_grant`` never (REL-05).
  The whole budget (:data:`TOKEN_BACKOFF`) stays below the database lock wait, because a refresh
  runs under the installation's lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from ..core.account import UrlTemplate
from ..core.clock import Clock
from ..core.retry import Backoff
from ..core.retry import parse_retry_after
from ..core.secret import Secret
from ..errors import ExchangeOutcomeUnknown
from ..errors import InvalidGrant
from ..errors import OAuthError
from ..errors import TokenEndpointError
from ..metrics import METRICS
from . import protocol
from .protocol import TokenResponse

log = logging.getLogger("gorgias_appkit.oauth")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# 4 tries within 20 s: below the 30 s a sibling waits for the installation lock (store/sql.py).
TOKEN_BACKOFF = Backoff(base=0.5, cap=8.0, max_attempts=4, deadline=20.0)


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
    backoff: Backoff = TOKEN_BACKOFF

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.client_id!r}, urls={self.urls.template!r})"

    # -- grants ----------------------------------------------------------------------------
    def exchange_code(
        self, account: str, *, code: Secret, code_verifier: Secret, redirect_uri: str
    ) -> TokenResponse:
        """Exchange a code (RFC 6749 §4.1.3); sent again once only if the answer was lost."""
        form = {
            "grant_type": "authorization_code",
            "code": code.reveal(),
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier.reveal(),
        }
        lost = False
        for attempt in (1, 2, 3):
            sent_at = self.clock.now()
            try:
                response = self._post(account, "/oauth/token", form)
            except _NOT_SENT as exc:
                if attempt == 3:
                    raise TokenEndpointError(f"cannot reach {account}'s token endpoint") from exc
                self._count_retry("connect")
                self.clock.sleep(self.backoff.delay(attempt))
                continue
            except httpx.TransportError as exc:
                if lost:
                    raise _outcome_unknown() from exc
                lost = True  # once, at once, same code: see the module docstring
                self._count_retry("lost")
                log.warning(
                    "code exchange response lost; retrying once", extra={"account": account}
                )
                continue
            try:
                return self._token_result(response, sent_at=sent_at, previous=None)
            except InvalidGrant as exc:
                if lost:  # the first exchange went through: the code is spent
                    raise _outcome_unknown() from exc
                raise
        raise AssertionError("unreachable")

    def refresh(self, account: str, *, refresh_token: Secret) -> TokenResponse:
        """Refresh an access token with retries that cannot burn the refresh token."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
        started = time.monotonic()
        lost_once = False
        attempt = 0
        while True:
            attempt += 1
            sent_at = self.clock.now()
            try:
                response = self._post(account, "/oauth/token", form)
                return self._token_result(response, sent_at=sent_at, previous=refresh_token)
            except _NOT_SENT as exc:
                error: TokenEndpointError = TokenEndpointError(
                    f"cannot reach {account}'s token endpoint"
                )
                error.__cause__ = exc
            except httpx.TransportError as exc:
                if lost_once:  # REL-03: one retry with the same token, never a loop
                    raise TokenEndpointError(
                        f"{account}'s refresh response was lost twice"
                    ) from exc
                lost_once = True
                self._count_retry("lost")
                log.warning("refresh response lost; retrying once", extra={"account": account})
                continue
            except TokenEndpointError as exc:
                if not exc.transient:
                    raise
                error = exc
            elapsed = time.monotonic() - started
            wait = self.backoff.delay(attempt, retry_after=error.retry_after)
            if attempt >= self.backoff.max_attempts or elapsed + wait > self.backoff.deadline:
                raise error
            reason = str(error.status_code) if error.status_code else "connect"
            self._count_retry(reason)
            log.info(
                "token endpoint retry %d in %.1fs (%s)",
                attempt,
                wait,
                reason,
                extra={"account": account},
            )
            self.clock.sleep(wait)

    def revoke(self, account: str, *, token: Secret, hint: str | None = "refresh_token") -> None:
        """Revoke ``token`` (RFC 7009); a 200 means done, even for an unknown token.

        Without ``hint`` the server searches every token type (RFC 7009 §2.1).
        """
        form = {"token": token.reveal(), **({"token_type_hint": hint} if hint else {})}
        try:
            response = self._post(account, "/oauth/revoke", form)
        except httpx.TransportError as exc:
            raise TokenEndpointError(f"cannot reach {account}'s revocation endpoint") from exc
        if response.status_code == 200:
            return
        raise self._failure(response, what="revocation endpoint")

    # -- reads -----------------------------------------------------------------------------
    def get_json(self, url: str, *, bearer: Secret | None = None) -> tuple[int, object]:
        """GET a JSON document on an account's host (discovery, JWKS, /api/account)."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer.reveal()}"
        try:
            response = self.http.get(url, headers=headers, follow_redirects=False)
        except httpx.TransportError as exc:
            raise TokenEndpointError("cannot reach the account's server") from exc
        return response.status_code, _json_or_none(response)

    # -- plumbing --------------------------------------------------------------------------
    @staticmethod
    def _count_retry(reason: str) -> None:
        METRICS.inc("gorgias_token_endpoint_retries_total", reason=reason)

    def _post(self, account: str, path: str, form: dict[str, str]) -> httpx.Response:
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
        return self.http.post(url, data=form, headers=headers, follow_redirects=False)

    def _token_result(
        self, response: httpx.Response, *, sent_at: datetime, previous: Secret | None
    ) -> TokenResponse:
        if response.status_code != 200:
            raise self._failure(response, what="token endpoint")
        body = _json_or_none(response)
        return protocol.parse_token_response(
            body,
            sent_at=sent_at,
            default_lifetime=self.default_lifetime,
            previous_refresh_token=previous,
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
            retry_after = parse_retry_after(
                response.headers.get("retry-after"), now=self.clock.now()
            )
            return TokenEndpointError(
                f"the {what} answered {status}", status_code=status, retry_after=retry_after
            )
        error = protocol.parse_error_body(_json_or_none(response), status)
        if isinstance(error, InvalidGrant):
            return error
        if error.error == "server_error":
            return TokenEndpointError(
                f"the {what} answered {status}", status_code=status, transient=False
            )
        return error


def _outcome_unknown() -> ExchangeOutcomeUnknown:
    return ExchangeOutcomeUnknown(
        "the code exchange was interrupted and the code is spent; restart the install"
    )


def _json_or_none(response: httpx.Response) -> object:
    try:
        body: object = response.json()
    except ValueError:
        return None
    return body if isinstance(body, Mapping | list) else None
