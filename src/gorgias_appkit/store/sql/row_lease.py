"""The installation lock on SQLite: a lease on the row, so one account's refresh blocks no other.

SQLite has no row locks. ``BEGIN IMMEDIATE`` takes the whole database's write lock, and holding
it across a refresh's token request (up to 25 s) made every other write wait: other accounts'
refreshes, installs, and every API call's rate-budget slot. So on SQLite the lock is a lease
written in the row itself, in short transactions:

1. take: in one ``BEGIN IMMEDIATE`` transaction, read the row and, unless another holder's lease
   is still running, write ``locked_by`` (a random id) and ``locked_until`` (now +
   :data:`LEASE_SECONDS`); commit. A busy row is polled (5 ms doubling to 100 ms) for up to
   ``LOCK_WAIT_SECONDS``, then :class:`StoreError`, as on PostgreSQL;
2. the block runs without any database lock held (the token request happens here);
3. the block's first write begins a ``BEGIN IMMEDIATE`` transaction; every write checks the
   version *and* that this holder still owns the lease; the lease is released in that same
   transaction, which commits when the block ends (or rolls back if it raises, and the lease
   is released on its own).

The lease outlives the longest refresh (the token endpoint's 25 s deadline) by a minute, and the
write after a token request keeps asking for the database's write lock while the lease runs, so
a busy database delays storing a rotated refresh token instead of losing it. A process that dies
holding a lease delays that account's next change by at most :data:`LEASE_SECONDS`.

A row that does not exist yet (a first install) cannot carry a lease: the block then runs inside
one ``BEGIN IMMEDIATE`` transaction, as before (no token request happens under it). Times come
from the injected clock, like every stored time.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy import RowMapping
from sqlalchemy import Transaction
from sqlalchemy import Update
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from ...core.account import Account
from ...errors import StoreError
from ..engine import WRITE_LOCK
from ..schema import installations
from .locked_row import LockedRow
from .sqlite_sync import without_fsync

if TYPE_CHECKING:
    from .installations import SQLInstallationStore

T = installations.c
log = logging.getLogger("gorgias_appkit.store")
# Longer than a refresh's whole token deadline (25 s) plus a minute to get the write lock after.
LEASE_SECONDS = 90.0
_WRITE_MARGIN = 5.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.005, 0.1


@contextmanager
def leased(store: SQLInstallationStore, account: Account, *, wait: float) -> Iterator[LockedRow]:
    """Hold ``account``'s row lease for the block (see the module docstring)."""
    owner = secrets.token_hex(8)
    taken = _take(store, account, owner, wait=wait)
    if isinstance(taken, _NoRow):  # no row yet: the block runs in the open write transaction
        conn = taken.conn
        with conn, taken.transaction:
            yield LockedRow(store, lambda: conn, account, None)
        return
    row, until = taken.row, taken.until
    writes = _Writes(store, account, until)
    guard = (T.locked_by == owner,)
    try:
        yield LockedRow(store, writes.connection, account, store.to_record(row), guard)
    except BaseException:
        writes.rollback()
        try:
            _release(store, account, owner)
        except OperationalError:  # the database is busy: the lease lapses by itself
            log.warning("could not release a lease", extra={"account": account})
        raise
    if writes.conn is None:
        _release(store, account, owner)
    else:
        writes.conn.execute(_release_statement(account, owner))
        writes.commit()


@dataclass(frozen=True, slots=True)
class _Lease:
    row: RowMapping
    until: datetime


@dataclass(frozen=True, slots=True)
class _NoRow:
    conn: Connection
    transaction: Transaction


def _take(
    store: SQLInstallationStore, account: Account, owner: str, *, wait: float
) -> _Lease | _NoRow:
    """Write the lease (polling while another holder's runs); a missing row keeps the lock."""
    give_up = store.clock.now() + timedelta(seconds=wait)
    pause = _FIRST_PAUSE
    while True:
        conn = store.engine.connect().execution_options(**{WRITE_LOCK: True})
        try:
            row, until = _try_take(store, conn, account, owner)
            if row is None:  # no row: the block runs in one write transaction (fsync kept)
                transaction = conn.begin()
                if _read(conn, account) is None:
                    return _NoRow(conn, transaction)
                transaction.rollback()  # created meanwhile: lease it like any other row
        except OperationalError as exc:  # the busy timeout passed
            conn.close()
            raise StoreError(f"could not lock installation {account!r} in time") from exc
        except BaseException:
            conn.close()
            raise
        conn.close()
        if row is not None and until is not None:
            return _Lease(row, until)
        if store.clock.now() >= give_up:
            raise StoreError(f"could not lock installation {account!r} in time")
        store.clock.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


def _read(conn: Connection, account: Account) -> RowMapping | None:
    return conn.execute(select(installations).where(T.account == account)).mappings().first()


def _try_take(
    store: SQLInstallationStore, conn: Connection, account: Account, owner: str
) -> tuple[RowMapping | None, datetime | None]:
    """One attempt, in its own short transaction: the row, and our lease's end if we got it."""
    with without_fsync(conn), conn.begin():  # a lease lost in a power cut simply lapses
        row = _read(conn, account)
        if row is None:
            return None, None
        now = store.clock.now()
        if row["locked_by"] is not None and row["locked_until"] > now:
            return row, None  # another holder's lease is running
        until = now + timedelta(seconds=LEASE_SECONDS)
        conn.execute(
            update(installations)
            .where(T.account == account)
            .values(locked_by=owner, locked_until=until)
        )
    return row, until


def _release_statement(account: Account, owner: str) -> Update:
    return (
        update(installations)
        .where(T.account == account, T.locked_by == owner)
        .values(locked_by=None, locked_until=None)
    )


def _release(store: SQLInstallationStore, account: Account, owner: str) -> None:
    engine = store.engine.connect().execution_options(**{WRITE_LOCK: True})
    with engine as conn, without_fsync(conn), conn.begin():
        conn.execute(_release_statement(account, owner))


class _Writes:
    """The block's write transaction, begun at its first write."""

    def __init__(self, store: SQLInstallationStore, account: Account, until: datetime) -> None:
        self.store, self.account, self.until = store, account, until
        self.conn: Connection | None = None
        self.transaction: Transaction | None = None

    def connection(self) -> Connection:
        if self.conn is None:
            self.conn, self.transaction = self._begin()
        return self.conn

    def _begin(self) -> tuple[Connection, Transaction]:
        # The block may already have acted upstream (a refresh answered with rotated tokens):
        # while the lease is ours, keep asking for the write lock rather than lose the answer.
        last_chance = self.until - timedelta(seconds=_WRITE_MARGIN)
        while True:
            conn = self.store.engine.connect().execution_options(**{WRITE_LOCK: True})
            try:
                return conn, conn.begin()  # waits up to the busy timeout
            except OperationalError as exc:
                conn.close()
                if self.store.clock.now() >= last_chance:
                    raise StoreError(
                        f"could not write installation {self.account!r} in time"
                    ) from exc
                log.warning("the database is busy; still trying", extra={"account": self.account})
            except BaseException:
                conn.close()
                raise

    def commit(self) -> None:
        if self.conn is not None and self.transaction is not None:
            try:
                self.transaction.commit()
            finally:
                self.conn.close()

    def rollback(self) -> None:
        if self.conn is not None and self.transaction is not None:
            try:
                self.transaction.rollback()
            finally:
                self.conn.close()
