"""The ports: what a storage backend implements. The services are typed against these.

Backends: ``store/sql/`` (SQLite and PostgreSQL through SQLAlchemy) and, for rate buckets,
``store/redis_buckets.py``. :mod:`gorgias_appkit.testing.store_contract` is the battery of
tests every backend passes. Verbs carry contracts: ``find`` returns ``None`` when absent and
never writes; ``consume`` returns the record or raises :class:`InvalidState`. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from ..core.account import Account
from ..core.bucket import Take
from ..core.bucket import TakeRequest
from ..core.records import Installation
from ..core.records import InstallEvent
from ..core.records import InstallUpdate
from ..core.records import LedgerEntry
from ..core.records import PendingInstall
from ..core.records import PendingRevocation
from ..core.records import TokenSet
from ..core.records import WebSession
from ..core.secret import Secret


class LockedInstallation(Protocol):
    """The installation row while its lock is held: read it, then change it once or more."""

    @property
    def current(self) -> Installation | None:
        """The row as read after the lock was taken (and as last written under it)."""
        ...

    def apply(self, update: InstallUpdate) -> Installation:
        """Write ``update`` with a version check; return the new record."""
        ...

    def queue_revocation(self, token: Secret) -> int:
        """Queue ``token`` for upstream revocation in the same transaction; return its id."""
        ...


class InstallationStore(Protocol):
    """Where installations live, one per account, with their history."""

    def find(self, account: Account) -> Installation | None:
        """Return the installation of ``account`` or ``None``; never writes."""
        ...

    def all(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account."""
        ...

    def accounts_due(self, before: datetime) -> list[Account]:
        """Usable accounts whose access token expires before ``before``, soonest first."""
        ...

    def history(self, account: Account, *, limit: int = 50) -> list[InstallEvent]:
        """Return the newest events first."""
        ...

    def count_by_status(self) -> dict[str, int]:
        """The number of installations in every health state."""
        ...

    def locked(self, account: Account) -> AbstractContextManager[LockedInstallation]:
        """Hold the per-account lock (across processes) for the block."""
        ...

    def save_install(
        self, account: Account, *, tokens: TokenSet, user_id: str | None, user_email: str | None
    ) -> tuple[Installation, bool]:
        """Store a fresh install (or replace a previous one); return it and whether it is new."""
        ...

    def delete(self, account: Account) -> bool:
        """Forget the installation and its history; return whether it existed."""
        ...


class RefreshClaims(Protocol):
    """Due installations shared out between ``refresh-due`` runners (each row to one runner)."""

    def count_due(self, before: datetime) -> int:
        """How many usable installations expire before ``before``."""
        ...

    def claim_due(self, before: datetime, *, runner: str, limit: int, hold: float) -> list[Account]:
        """Claim for ``hold`` seconds up to ``limit`` due rows no other runner holds."""
        ...


class StateStore(Protocol):
    """Single-use install states (SEC-03)."""

    def issue(self, state: str, pending: PendingInstall) -> None:
        """Remember ``pending`` under ``state`` until it expires or is consumed."""
        ...

    def consume(self, state: str) -> PendingInstall:
        """Delete and return the record; raise :class:`InvalidState` if unknown or used."""
        ...

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the states past their expiry; return how many."""
        ...


class Ledger(Protocol):
    """The objects the app created in each account, so disconnect can remove them."""

    def record(
        self, account: Account, *, kind: str, remote_id: str, name: str | None
    ) -> LedgerEntry:
        """Remember a created object."""
        ...

    def live(self, account: Account) -> list[LedgerEntry]:
        """Objects still to remove, newest first."""
        ...

    def find(self, account: Account, *, kind: str, name: str) -> LedgerEntry | None:
        """The newest live object of ``kind`` the app calls ``name``."""
        ...

    def entries(self, account: Account, *, limit: int = 100) -> list[LedgerEntry]:
        """Every row of ``account``, removed ones included, newest first."""
        ...

    def mark_deleted(self, account: Account, *, kind: str, remote_id: str) -> None:
        """Record that the object no longer exists."""
        ...

    def purge(self, account: Account) -> int:
        """Forget every row of ``account``."""
        ...


class RevocationQueue(Protocol):
    """Upstream revocations that failed transiently and are retried later (REL-10)."""

    def due(self, now: datetime, *, limit: int = 500) -> list[PendingRevocation]:
        """Queued revocations whose next attempt is due, oldest first."""
        ...

    def add(self, account: Account, token: Secret) -> int:
        """Queue ``token`` on its own (no installation row holds it); return the entry's id."""
        ...

    def finish(self, revocation_id: int) -> None:
        """Forget a queued revocation (done, or given up)."""
        ...

    def reschedule(
        self, revocation_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """Record a failed attempt and when to try again."""
        ...


class BucketStore(Protocol):
    """Where the rate buckets live; ``take`` is atomic across every process sharing it."""

    def take(self, account: str, request: TakeRequest) -> Take:
        """Apply :func:`~gorgias_appkit.core.bucket.apply_take` to the bucket atomically."""
        ...


class SessionStore(Protocol):
    """Browser sessions, keyed by a hash of the id the signed cookie carries."""

    def create(
        self, session_id: str, *, accounts: Sequence[Account], admin_user: str | None = None
    ) -> WebSession:
        """Start a session holding ``accounts`` and, with ``admin_user``, an admin login."""
        ...

    def find(self, session_id: str) -> WebSession | None:
        """Return the live session (within its idle timeout and lifetime) or ``None``."""
        ...

    def touch(self, session_id: str) -> None:
        """Record a use of the session (restarts its idle timeout)."""
        ...

    def end(self, session_id: str) -> bool:
        """End the session; return whether it existed."""
        ...

    def withdraw(self, account: Account) -> int:
        """Take ``account`` from every session (ending emptied ones); return how many held it."""
        ...

    def purge_expired(self) -> int:
        """Delete the sessions past their idle timeout or lifetime; return how many."""
        ...
