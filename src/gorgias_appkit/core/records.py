"""The records the kit passes between its layers: installations, tokens, states, history.

Frozen dataclasses, changed with :func:`dataclasses.replace`. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .account import Account
from .secret import Secret


class InstallStatus(StrEnum):
    """Health of an installation: active → refresh_failing → needs_reauth or uninstalled.

    ``needs_reauth``: Gorgias may still honour the grant, but the app cannot renew it alone (no
    refresh token); the merchant reconnects. ``uninstalled``: Gorgias no longer knows the
    grant: the app disconnected, or the merchant removed it in Gorgias (inferred from
    ``invalid_grant`` or a 401 on a fresh token).
    """

    ACTIVE = "active"
    REFRESH_FAILING = "refresh_failing"
    NEEDS_REAUTH = "needs_reauth"
    UNINSTALLED = "uninstalled"

    @property
    def usable(self) -> bool:
        """Whether tokens may be handed out in this state."""
        return self in (InstallStatus.ACTIVE, InstallStatus.REFRESH_FAILING)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSet:
    """The tokens of one account, as parsed from a token response."""

    access_token: Secret
    refresh_token: Secret | None
    expires_at: datetime
    scopes: tuple[str, ...]
    token_type: str = "Bearer"  # noqa: S105 - the token type's name, not a secret

    def expires_within(self, seconds: float, *, now: datetime) -> bool:
        """Tell whether the access token expires within ``seconds`` of ``now``."""
        return (self.expires_at - now).total_seconds() <= seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Installation:
    """One account's installation of the app."""

    account: Account
    status: InstallStatus
    tokens: TokenSet | None
    version: int
    installed_at: datetime
    updated_at: datetime
    user_id: str | None = None
    user_email: str | None = None
    last_refresh_at: datetime | None = None
    refresh_failures: int = 0
    next_refresh_at: datetime | None = None
    last_error: str | None = None
    # Why the stored tokens cannot be opened with the configured keys (then ``tokens`` is None).
    unreadable: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        """When the access token expires, if there is one."""
        return self.tokens.expires_at if self.tokens else None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes granted at the last install or refresh."""
        return self.tokens.scopes if self.tokens else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallEvent:
    """One line of an installation's history."""

    account: Account
    at: datetime
    event: str
    from_status: str | None
    to_status: str | None
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingInstall:
    """What a state value stands for until the callback consumes it (SEC-03)."""

    account: Account
    issuer: str
    nonce: str
    code_verifier: Secret
    browser_hash: str
    created_at: datetime
    expires_at: datetime
    return_to: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallUpdate:
    """Fields to change under the installation lock; ``None`` leaves a field as is."""

    status: InstallStatus | None = None
    tokens: TokenSet | None = None
    clear_tokens: bool = False
    refresh_failures: int | None = None
    next_refresh_at: datetime | None = None
    clear_next_refresh: bool = False
    last_refresh_at: datetime | None = None
    last_error: str | None = None
    clear_last_error: bool = False
    event: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """One object the app created in an account."""

    account: Account
    kind: str
    remote_id: str
    name: str | None
    created_at: datetime
    deleted_at: datetime | None = None

    @property
    def live(self) -> bool:
        """Whether the object is still believed to exist in the account."""
        return self.deleted_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRevocation:
    """A token whose upstream revocation failed transiently and will be retried."""

    id: int
    account: Account
    token: Secret
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSession:
    """A browser's session: the accounts it may view and its admin login, if any."""

    accounts: tuple[Account, ...]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    admin_user: str | None = None
    admin_since: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeReport:
    """What :meth:`Kit.purge_expired` deleted: rows past their lifetime, per table."""

    install_states: int
    sessions: int
    throttle_counters: int
