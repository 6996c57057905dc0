"""SQLBucketStore: the rate buckets in the app's database (table ``gorgias_rate_buckets``).

One short transaction per take, holding the account's row lock: ``SELECT … FOR UPDATE`` on
PostgreSQL (the row is created with ``INSERT … ON CONFLICT DO NOTHING`` first when missing) and
``BEGIN IMMEDIATE`` on SQLite (one writer at a time, committed without an fsync of its own:
:mod:`.sqlite_sync`). The
decision itself is :func:`~.bucket.apply_take`, so every process of the app shares one exact
bucket per account.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ...core.bucket import BucketState
from ...core.bucket import Take
from ...core.bucket import TakeRequest
from ...core.bucket import apply_take
from ..engine import WRITE_LOCK
from ..schema import rate_buckets
from .sqlite_sync import without_fsync

B = rate_buckets.c


class SQLBucketStore:
    """Buckets in SQL; safe across processes and hosts sharing the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def __repr__(self) -> str:
        return f"SQLBucketStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def take(self, account: str, request: TakeRequest) -> Take:
        """Lock ``account``'s row, apply the take, write the row back."""
        with self.engine.connect().execution_options(**{WRITE_LOCK: True}) as conn:
            if self._postgres:
                return self._take(conn, account, request)
            # A bucket empties within one window: its rows need no fsync of their own.
            with without_fsync(conn):
                return self._take(conn, account, request)

    def _take(self, conn: Connection, account: str, request: TakeRequest) -> Take:
        with conn.begin():
            state = self._locked(conn, account, request)
            new, take = apply_take(state, request)
            values = {
                "level": new.level,
                "capacity": new.capacity,
                "window": new.window,
                "updated_at": new.updated_at,
            }
            if state is None:
                conn.execute(insert(rate_buckets).values(account=account, **values))
            else:
                conn.execute(update(rate_buckets).where(B.account == account).values(**values))
        return take

    def _locked(self, conn: Connection, account: str, request: TakeRequest) -> BucketState | None:
        query = select(B.level, B.capacity, B.window, B.updated_at).where(B.account == account)
        if not self._postgres:
            row = conn.execute(query).first()  # BEGIN IMMEDIATE already holds the write lock
            return BucketState(*row) if row else None
        row = conn.execute(query.with_for_update()).first()
        if row is None:
            conn.execute(
                pg_insert(rate_buckets)
                .values(
                    account=account,
                    level=0.0,
                    capacity=request.capacity,
                    window=request.window,
                    updated_at=request.now,
                )
                .on_conflict_do_nothing(index_elements=[B.account])
            )
            row = conn.execute(query.with_for_update()).first()
        assert row is not None  # noqa: S101 - inserted above in this transaction
        return BucketState(*row)
