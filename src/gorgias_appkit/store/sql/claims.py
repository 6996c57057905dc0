"""SQLRefreshClaims: ``refresh-due`` runners take due installations in small batches, never twice.

A runner claims a batch of due installations (soonest expiry first) by writing its id and a
claim expiry into the rows, in one short transaction; another runner's claim skips rows whose
claim is still running, so two runners started together split the work instead of queueing on
each other's row locks. On PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED``, so it also
skips rows a web worker is refreshing at that moment and two claims never wait for each other;
on SQLite (no row locks) the claim runs under ``BEGIN IMMEDIATE`` and skips rows whose lease
(:mod:`.row_lease`) is held. A claim is only a hint for sharing work: each refresh still takes
the installation's lock and re-reads the row, so a row refreshed meanwhile is skipped (REL-12).

A claim ends by itself after ``hold`` seconds: a runner that dies leaves its rows to the next
run. Rows stay claimed after they are done, so a run never takes the same row twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import InstallStatus
from ...errors import InvalidAccount
from ..engine import WRITE_LOCK
from ..reconnect import once_more_if_dropped
from ..schema import installations
from .sqlite_sync import without_fsync

T = installations.c
log = logging.getLogger("gorgias_appkit.store")
_USABLE = tuple(s.value for s in InstallStatus if s.usable)


class SQLRefreshClaims:
    """Claims on due installations, shared by every ``refresh-due`` runner on the database."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    def __repr__(self) -> str:
        return f"SQLRefreshClaims({self.engine.url.render_as_string(hide_password=True)!r})"

    def count_due(self, before: datetime) -> int:
        """How many usable installations expire before ``before`` (claimed or not)."""
        query = select(func.count()).where(T.status.in_(_USABLE), T.expires_at < before)

        def read() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())

        return once_more_if_dropped(read)

    def claim_due(self, before: datetime, *, runner: str, limit: int, hold: float) -> list[Account]:
        """Claim up to ``limit`` unclaimed rows expiring before ``before``, soonest first."""
        return once_more_if_dropped(lambda: self._claim(before, runner, limit, hold))

    def _claim(self, before: datetime, runner: str, limit: int, hold: float) -> list[Account]:
        now = self.clock.now()
        due = (
            select(T.account)
            .where(
                T.status.in_(_USABLE),
                T.expires_at < before,
                or_(T.claimed_until.is_(None), T.claimed_until <= now),
            )
            .order_by(T.expires_at)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)  # rows being changed right now
        else:
            due = due.where(or_(T.locked_by.is_(None), T.locked_until <= now))  # leased rows
        claim = (
            update(installations)
            .where(T.account.in_(due.scalar_subquery()))
            .values(claimed_by=runner, claimed_until=now + timedelta(seconds=hold))
            .returning(T.account, T.expires_at)
        )
        with self.engine.connect().execution_options(**{WRITE_LOCK: True}) as conn:
            if self._postgres:
                with conn.begin():
                    rows = conn.execute(claim).all()
            else:
                with without_fsync(conn), conn.begin():  # a claim lost in a power cut lapses
                    rows = conn.execute(claim).all()
        claimed = []
        for account, _ in sorted(rows, key=lambda r: r[1]):
            try:
                claimed.append(Account(account))
            except InvalidAccount:  # tampered with: never usable, must not stop the others
                log.error("skipping a row whose account is not valid: %s", ascii(account))
        return claimed
