"""SQLSessionStore: browser sessions in the app's database, shared by every worker and instance.

The browser's signed cookie carries a random session id; only its SHA-256 is stored (a copy of
the table opens no session). A session is live while it is younger than its absolute lifetime
and was used within the idle timeout; past either, :meth:`find` no longer returns it and
:meth:`purge_expired` deletes it. The accounts a session may view are rows of their own, so a
disconnect or a reinstall from another browser withdraws an account from every session holding
it with one indexed delete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import WebSession
from ..schema import web_session_accounts
from ..schema import web_sessions

S = web_sessions.c
G = web_session_accounts.c


def session_hash(session_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SQLSessionStore:
    """Sessions with an idle timeout and an absolute lifetime (seconds)."""

    def __init__(self, engine: Engine, *, clock: Clock, idle: float, lifetime: float) -> None:
        self.engine = engine
        self.clock = clock
        self.idle = timedelta(seconds=idle)
        self.lifetime = timedelta(seconds=lifetime)

    def __repr__(self) -> str:
        return f"SQLSessionStore(idle={self.idle}, lifetime={self.lifetime})"

    def _live(self) -> ColumnElement[bool]:
        now = self.clock.now()
        return and_(S.expires_at > now, S.last_seen_at > now - self.idle)

    def create(
        self, session_id: str, *, accounts: Sequence[Account], admin_user: str | None = None
    ) -> WebSession:
        """Start a session holding ``accounts`` (and an admin login, if ``admin_user``)."""
        now = self.clock.now()
        key = session_hash(session_id)
        record = WebSession(
            accounts=tuple(accounts),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
            admin_user=admin_user,
            admin_since=now if admin_user else None,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    session_hash=key,
                    created_at=record.created_at,
                    last_seen_at=record.last_seen_at,
                    expires_at=record.expires_at,
                    admin_user=record.admin_user,
                    admin_since=record.admin_since,
                )
            )
            if accounts:
                # Grant times one microsecond apart keep the order the accounts were given in.
                conn.execute(
                    insert(web_session_accounts),
                    [
                        {
                            "session_hash": key,
                            "account": a,
                            "granted_at": now + timedelta(microseconds=i),
                        }
                        for i, a in enumerate(accounts)
                    ],
                )
        return record

    def find(self, session_id: str) -> WebSession | None:
        """Return the live session with this id, or ``None``; never writes."""
        key = session_hash(session_id)
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(web_sessions).where(S.session_hash == key, self._live()))
                .mappings()
                .first()
            )
            if row is None:
                return None
            accounts = conn.execute(
                select(G.account).where(G.session_hash == key).order_by(G.granted_at, G.account)
            ).scalars()
            return WebSession(
                accounts=tuple(Account(a) for a in accounts),
                created_at=row["created_at"],
                last_seen_at=row["last_seen_at"],
                expires_at=row["expires_at"],
                admin_user=row["admin_user"],
                admin_since=row["admin_since"],
            )

    def touch(self, session_id: str) -> None:
        """Record that the session was used now (it restarts the idle timeout)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(S.session_hash == session_hash(session_id), self._live())
                .values(last_seen_at=self.clock.now())
            )

    def end(self, session_id: str) -> bool:
        """End the session (logout, or replaced by a fresh one); return whether it existed."""
        with self.engine.begin() as conn:
            return _delete(conn, [session_hash(session_id)]) > 0

    def withdraw(self, account: Account) -> int:
        """Take ``account`` from every session; end those left with nothing. Return how many.

        Called at disconnect and when another browser reinstalls: a saved
        cookie of any of these sessions no longer opens the account.
        """
        with self.engine.begin() as conn:
            holders = list(
                conn.execute(select(G.session_hash).where(G.account == account)).scalars()
            )
            if not holders:
                return 0
            conn.execute(delete(web_session_accounts).where(G.account == account))
            empty = conn.execute(
                select(S.session_hash).where(
                    S.session_hash.in_(holders),
                    S.admin_user.is_(None),
                    ~exists().where(G.session_hash == S.session_hash),
                )
            ).scalars()
            _delete(conn, list(empty))
        return len(holders)

    def purge_expired(self) -> int:
        """Delete every session past its idle timeout or lifetime; return how many."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            over = list(
                conn.execute(
                    select(S.session_hash).where(
                        or_(S.expires_at <= now, S.last_seen_at <= now - self.idle)
                    )
                ).scalars()
            )
            return _delete(conn, over)

    def count(self) -> int:
        """How many session records exist (expired ones included until purged)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(web_sessions)).scalar_one())


def _delete(conn: Connection, keys: list[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), 500):  # bounded IN lists
        chunk = keys[start : start + 500]
        conn.execute(delete(web_session_accounts).where(G.session_hash.in_(chunk)))
        deleted += int(conn.execute(delete(web_sessions).where(S.session_hash.in_(chunk))).rowcount)
    return deleted
