"""The ports: what a storage backend implements. The services are typed against these.

Backends: ``store/sql/`` (SQLite and PostgreSQL through SQLAlchemy) and, for rate buckets,
``store/redis_buckets.py``. ``gorgias_appkit.testing.store_contract`` is the battery of tests
every backend passes. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from ..core.records import Installation
from ..core.records import InstallEvent
from ..core.records import InstallUpdate
from ..core.records import PendingInstall
from ..core.records import TokenSet


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
