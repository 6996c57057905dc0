"""Surviving a dropped database connection without a ping before every statement.

``pool_pre_ping`` costs a round trip each time a connection leaves the pool: on PostgreSQL that
doubled the price of every token read. Instead:

- a connection that sat in the pool longer than ``GORGIAS_DB_PING_AFTER_IDLE`` seconds is pinged
  when it is checked out (a server restart or an idle-connection reaper is most likely to have
  struck exactly then), and replaced if the ping fails; a busy pool is never pinged;
- connections are recycled after :data:`RECYCLE_SECONDS`, before typical server-side limits;
- the hot paths (reading an installation, locking it, taking a rate-budget slot, claiming due
  refreshes) run through :func:`once_more_if_dropped`: if the database dropped the connection
  under them, SQLAlchemy invalidates the pool and the work runs once more on a new connection.
  Only work that is safe to repeat goes through it: reads, and transactions that failed before
  they committed anything (a lock not yet held, a bucket take, which at worst counts one slot
  twice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger("gorgias_appkit.store")
T = TypeVar("T")
RECYCLE_SECONDS = 1800
_IDLE_SINCE = "gorgias_idle_since"


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection at checkout once it was idle ``seconds`` (0: at every checkout)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < seconds:
            return  # new, or in use a moment ago: no round trip
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: the pool replaces the connection and retries
            raise DisconnectionError("the idle connection did not answer a ping") from exc


def once_more_if_dropped(work: Callable[[], T]) -> T:
    """Run ``work``; if the database dropped its connection, run it once more on a new one."""
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning(
            "the database dropped a connection (%s); trying once more on a new one",
            type(exc.orig).__name__,
            extra={"event": "db_reconnect"},
        )
        return work()
