"""InstallFlow: begin an install (authorize redirect) and complete it (callback → stored tokens).

Framework-free: the web layer hands in the raw query mapping and the browser-binding cookie
value; this module decides. Order of checks in :meth:`InstallFlow.complete` (each failure stops
before any token request, except where noted):

1. parse the callback's shape; a missing state is :class:`InvalidState`;
2. consume the state (single use: deleted even if a later check fails, SEC-03);
3. expiry, then the browser binding;
4. ``iss`` equals the issuer stored with the state, when present, by simple string equality;
   when absent but the issuer's metadata says it sends ``iss``, refuse (RFC 9207, SEC-05);
   this runs before the ``error`` check, so a forged error from another server is not trusted;
5. an ``error`` answer becomes :class:`AccessDenied` / :class:`OAuthError`;
6. exchange the code at the **stored** account's token endpoint (never one named by the callback);
7. validate the id_token (nonce before any token is used, SEC-06/07); a refusal is logged with
   its reason code and nothing is stored;
8. confirm the account with ``GET /api/account`` through the API client, so the account's rate
   budget counts it (SEC-18), then store atomically.

Once the code is exchanged Gorgias has issued a grant: if step 7 or 8 (or storing) fails, the
tokens are handed to the :class:`TokenDiscard` (revoked now, or queued when Gorgias is down), so
an abandoned install never leaves a live grant behind.

:meth:`InstallFlow.begin` reads the issuer's discovery document (when JWKS discovery is on)
before it stores a state, so a document naming another issuer aborts the install before the
merchant is redirected (SEC-08).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from ..api.client import GorgiasClient
from ..core.account import Account
from ..core.clock import Clock
from ..core.records import Installation
from ..core.records import PendingInstall
from ..core.records import TokenSet
from ..core.secret import Secret
from ..core.settings import KitSettings
from ..errors import AccountMismatch
from ..errors import ApiError
from ..errors import GorgiasAppError
from ..errors import IdTokenError
from ..errors import InvalidAccount
from ..errors import InvalidState
from ..errors import InvalidTokenResponse
from ..errors import OAuthError
from ..store.ports import InstallationStore
from ..store.ports import StateStore
from . import protocol
from .client import OAuthClient
from .idtoken import IdTokenVerifier
from .protocol import TokenResponse

log = logging.getLogger("gorgias_appkit.install")


class AccountNotEnabled(InvalidAccount):
    """The account is valid but not in ``GORGIAS_ALLOWED_ACCOUNTS``."""


class TokenDiscard(Protocol):
    """Where the tokens of an abandoned install go: revoked now, or queued for later."""

    def discard(self, account: Account, tokens: TokenSet) -> None:
        """Make sure ``tokens`` stop working at Gorgias."""
        ...


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What a completed install produced."""

    installation: Installation
    is_new: bool
    return_to: str | None
    missing_scopes: tuple[str, ...]
    # No refresh token came back (``offline`` not granted): access stops when the token expires.
    no_refresh_token: bool = False


def browser_hash(browser_id: str) -> str:
    """Hash the browser-binding cookie value so the database never holds it."""
    return hashlib.sha256(b"browser:" + browser_id.encode()).hexdigest()


def new_browser_id() -> str:
    """Return a fresh random browser-binding value (256 bits)."""
    return secrets.token_urlsafe(32)


class InstallFlow:
    """The two halves of an install."""

    def __init__(
        self,
        *,
        settings: KitSettings,
        oauth: OAuthClient,
        verifier: IdTokenVerifier,
        store: InstallationStore,
        states: StateStore,
        api: Callable[[Account, Secret], GorgiasClient],
        discard: TokenDiscard,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.oauth = oauth
        self.verifier = verifier
        self.store = store
        self.states = states
        self.api = api
        self.discard = discard
        self.clock = clock

    def begin(self, account: Account, *, browser_id: str, return_to: str | None = None) -> str:
        """Remember a fresh state for ``account`` and return the authorize URL."""
        if not self.settings.account_allowed(account):
            raise AccountNotEnabled("this app is not enabled for that Gorgias account yet")
        state = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG (SEC-03)
        verifier = protocol.new_code_verifier()
        nonce = secrets.token_urlsafe(24)
        now = self.clock.now()
        self.verifier.discovery(account)  # a foreign issuer in discovery aborts here (SEC-08)
        self.states.issue(
            state,
            PendingInstall(
                account=account,
                issuer=self.settings.url_template.issuer(account),
                nonce=nonce,
                code_verifier=Secret(verifier),
                browser_hash=browser_hash(browser_id),
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.state_ttl),
                return_to=return_to,
            ),
        )
        log.info("install started", extra={"account": account, "event": "install_started"})
        return protocol.authorize_url(
            self.settings.url_template.endpoint(account, "/oauth/authorize"),
            client_id=self.settings.client_id,
            redirect_uri=self.settings.redirect_uri,
            scopes=self.settings.scopes,
            state=state,
            nonce=nonce,
            code_challenge=protocol.s256_challenge(verifier),
        )

    def complete(self, query: Mapping[str, str], *, browser_id: str | None) -> InstallResult:
        """Finish the install from the callback's query string (see the module docstring)."""
        params = protocol.parse_callback(query)
        if params.state is None:
            raise InvalidState("the callback has no state")
        pending = self.states.consume(params.state)
        if pending.expires_at <= self.clock.now():
            raise InvalidState("this install link has expired")
        if browser_id is None or not hmac.compare_digest(
            browser_hash(browser_id), pending.browser_hash
        ):
            raise InvalidState("this install was started in another browser")
        if params.iss is not None and params.iss != pending.issuer:
            raise OAuthError("the answer came from another server", error="issuer_mismatch")
        if params.iss is None and self.verifier.iss_promised(pending.account):
            raise OAuthError("the answer did not say which server sent it", error="issuer_missing")
        if params.error is not None:
            raise protocol.callback_error(params)
        if params.code is None:
            raise OAuthError("the callback has no code", error="invalid_request")
        result = self.oauth.exchange_code(
            pending.account,
            code=params.code,
            code_verifier=pending.code_verifier,
            redirect_uri=self.settings.redirect_uri,
        )
        try:
            return self._finish(pending, result)
        except GorgiasAppError:  # the grant exists at Gorgias: it must not outlive the install
            self.discard.discard(pending.account, result.tokens)
            raise

    def _finish(self, pending: PendingInstall, result: TokenResponse) -> InstallResult:
        account = pending.account
        user_id = user_email = None
        if result.id_token is not None:
            try:
                claims = self.verifier.verify(result.id_token, account=account, nonce=pending.nonce)
            except IdTokenError as exc:
                log.warning(
                    "install refused: id_token rejected (%s)",
                    exc.reason,
                    extra={"account": account, "event": "id_token_rejected", "reason": exc.reason},
                )
                raise
            user_id, user_email = claims.sub, claims.email
        elif "openid" in self.settings.scopes:
            raise InvalidTokenResponse("openid was requested but no id_token came back")
        self._confirm_account(account, result.tokens.access_token)
        granted = set(result.tokens.scopes) or set(self.settings.scopes)
        missing = tuple(s for s in self.settings.scopes if s not in granted)
        if result.tokens.refresh_token is None:
            log.warning(
                "no refresh token: background access stops when the access token expires",
                extra={"account": account, "event": "no_refresh_token"},
            )
        installation, is_new = self.store.save_install(
            account, tokens=result.tokens, user_id=user_id, user_email=user_email
        )
        log.info(
            "install completed",
            extra={
                "account": account,
                "event": "installed" if is_new else "reinstalled",
                "token_fp": result.tokens.access_token.fingerprint(),
            },
        )
        return InstallResult(
            installation,
            is_new,
            pending.return_to,
            missing,
            no_refresh_token=result.tokens.refresh_token is None,
        )

    def _confirm_account(self, account: Account, access_token: Secret) -> None:
        """SEC-18: the token must see ``account`` itself; 5xx and transport errors stay 502s."""
        try:
            domain = self.api(account, access_token).get_account().domain
        except ApiError as exc:
            if exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429:
                raise
            raise AccountMismatch(
                f"could not confirm the account (status {exc.status_code})"
            ) from exc
        if not isinstance(domain, str):
            raise AccountMismatch("could not confirm the account (no domain)")
        if domain.lower() != account:
            raise AccountMismatch("the tokens belong to another Gorgias account")
