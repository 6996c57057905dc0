"""Short SQLite transactions that need no fsync of their own: leases, claims, rate buckets.

SQLite lets one writer in at a time, and in its default ``synchronous=FULL`` every commit waits
for an fsync of the write-ahead log while holding that lock. A row lease, a refresh claim or a
rate bucket is worth nothing after a power cut (a lease or claim simply lapses, a bucket drains
within a window), so their transactions commit with ``synchronous=NORMAL``: still atomic and
isolated in WAL mode, just not flushed at once. Tokens and everything else keep ``FULL``. The
pooled connection gets its setting back before anything else uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection


@contextmanager
def without_fsync(conn: Connection) -> Iterator[None]:
    """Run the block's transactions on ``conn`` (SQLite) with ``synchronous=NORMAL``."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("the connection is closed")
    cursor = dbapi.cursor()
    try:
        cursor.execute("PRAGMA synchronous")
        row = cursor.fetchone()
        previous = int(row[0]) if row else 2  # 2: FULL, SQLite's default
        cursor.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA synchronous={previous}")
    finally:
        cursor.close()
