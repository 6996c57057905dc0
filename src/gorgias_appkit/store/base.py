"""Records the store holds, and the ports (protocols) a store backend implements. Stdlib only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ..redact import Secret


class InstallStatus(StrEnum):
    """Health of an installation (issue 3's state machine)."""

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

    account: str
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

    account: str
    at: datetime
    event: str
    from_status: str | None
    to_status: str | None
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingInstall:
    """What a state value stands for until the callback consumes it (SEC-03)."""

    account: str
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


class LockedInstallation(Protocol):
    """The installation row while its lock is held: read it, then change it once or more."""

    @property
    def current(self) -> Installation | None:
        """The row as re-read after the lock was taken."""
        ...

    def apply(self, update: InstallUpdate) -> Installation:
        """Write ``update`` with a version check; return the new record."""
        ...


class InstallationStore(Protocol):
    """Where installations live; the SQL store is the reference backend."""

    def find(self, account: str) -> Installation | None:
        """Return the installation of ``account`` or ``None``."""
        ...

    def all(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account."""
        ...

    def locked(self, account: str) -> AbstractContextManager[LockedInstallation]:
        """Hold the per-account lock (across processes) for the block."""
        ...

    def save_install(
        self, account: str, *, tokens: TokenSet, user_id: str | None, user_email: str | None
    ) -> tuple[Installation, bool]:
        """Store a fresh install (or replace a previous one); return it and whether it is new."""
        ...

    def history(self, account: str, *, limit: int = 50) -> list[InstallEvent]:
        """Return the newest events first."""
        ...


class StateStore(Protocol):
    """Single-use install states (SEC-03)."""

    def issue(self, state: str, pending: PendingInstall) -> None:
        """Remember ``pending`` under ``state`` until it expires or is consumed."""
        ...

    def consume(self, state: str) -> PendingInstall | None:
        """Delete and return the record; ``None`` if unknown or already used."""
        ...
