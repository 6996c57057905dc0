"""SQLThrottleStorage: a ``limits`` storage over SQLAlchemy, for apps without Redis.

The `limits` library ships storages for memory, Redis, Memcached and MongoDB, none for SQL; the
login and install throttles must count across every worker and instance,
so without ``GORGIAS_REDIS_URL`` they count in the app's database (SQLite on one machine,
PostgreSQL across hosts), table ``gorgias_throttle_counters``.

It serves ``limits``' fixed-window strategy: one row per key holding the hits of the current
window and when the window ends. :meth:`incr` is one ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` statement, atomic on both databases: a window that is over starts again at
``amount``. Time comes from the injected :class:`Clock`, so tests move it without sleeping.
"""

from __future__ import annotations

from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ...core.clock import Clock
from ..schema import throttle_counters

T = throttle_counters.c
MAX_KEY = 200


class SQLThrottleStorage(Storage):
    """Fixed-window counters in SQL, shared by every process using the database."""

    def __init__(self, engine: Engine, *, clock: Clock, wrap_exceptions: bool = True) -> None:
        super().__init__(None, wrap_exceptions=wrap_exceptions)
        self.engine = engine
        self.clock = clock
        self._insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def __repr__(self) -> str:
        return f"SQLThrottleStorage({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What the database may raise (``limits`` wraps it in its ``StorageError``)."""
        return SQLAlchemyError

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s window (a new one if it is over); return the hits."""
        now = self._now()
        over = T.expires_at <= now
        statement = (
            self._insert(throttle_counters)
            .values(counter_key=key[:MAX_KEY], hits=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[T.counter_key],
                set_={
                    "hits": case((over, amount), else_=T.hits + amount),
                    "expires_at": case((over, now + expiry), else_=T.expires_at),
                },
            )
            .returning(T.hits)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        """The hits of ``key``'s current window (0 when there is none)."""
        query = select(T.hits).where(T.counter_key == key[:MAX_KEY], T.expires_at > self._now())
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        """When ``key``'s window ends (POSIX seconds; now when there is none)."""
        now = self._now()
        query = select(T.expires_at).where(T.counter_key == key[:MAX_KEY], T.expires_at > now)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return float(found) if found is not None else now

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(throttle_counters)).rowcount)

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter."""
        with self.engine.begin() as conn:
            conn.execute(delete(throttle_counters).where(T.counter_key == key[:MAX_KEY]))

    def purge_expired(self) -> int:
        """Delete the counters whose window is over; return how many."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(throttle_counters).where(T.expires_at <= self._now()))
            return int(result.rowcount)

    def count(self) -> int:
        """How many counters are stored (finished windows included until purged)."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(throttle_counters)
            return int(conn.execute(query).scalar_one())
