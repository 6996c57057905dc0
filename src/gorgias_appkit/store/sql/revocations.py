"""The queue of upstream revocations to retry (REL-10), in ``gorgias_pending_revocations``.

A token is sealed like every other token (its ciphertext is bound to the account). It is queued
inside the installation's locked transaction (:func:`queue_revocation`), so the transaction that
clears an installation's tokens also records what is still to be revoked: no crash in between
can lose a token that was never revoked upstream.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import PendingRevocation
from ...core.secret import Secret
from ..crypto import Keyring
from ..schema import pending_revocations

R = pending_revocations.c


def _context(account: str) -> str:
    return f"pending_revocation:{account}:token"


def queue_revocation(
    conn: Connection, *, keyring: Keyring, clock: Clock, account: str, token: Secret
) -> int:
    """Queue ``token`` in ``conn``'s transaction, due at once; return the queue row's id."""
    now = clock.now()
    sealed = keyring.encrypt(token.reveal(), context=_context(account))
    result = conn.execute(
        insert(pending_revocations).values(
            account=account,
            token=sealed,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            created_at=now,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


class SQLRevocationQueue:
    """Reads and updates the queue outside any installation lock."""

    def __init__(self, engine: Engine, *, keyring: Keyring, clock: Clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock

    def due(self, now: datetime, *, limit: int = 500) -> list[PendingRevocation]:
        """Return queued revocations whose next attempt is due, oldest first."""
        query = (
            select(pending_revocations)
            .where(R.next_attempt_at <= now)
            .order_by(R.next_attempt_at, R.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [self._to_record(row) for row in rows]

    def count(self) -> int:
        """Return how many revocations are still queued (due or not)."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(pending_revocations)
            return int(conn.execute(query).scalar_one())

    def finish(self, revocation_id: int) -> None:
        """Forget a queued revocation (done, or given up)."""
        with self.engine.begin() as conn:
            conn.execute(delete(pending_revocations).where(R.id == revocation_id))

    def reschedule(
        self, revocation_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """Record a failed attempt and when to try again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(pending_revocations)
                .where(R.id == revocation_id)
                .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:300])
            )

    def add(self, account: Account, token: Secret) -> int:
        """Queue ``token`` on its own (no installation row holds it); return the entry's id."""
        with self.engine.begin() as conn:
            return queue_revocation(
                conn, keyring=self.keyring, clock=self.clock, account=account, token=token
            )

    def _to_record(self, row: RowMapping) -> PendingRevocation:
        account = Account(row["account"])
        return PendingRevocation(
            id=row["id"],
            account=account,
            token=Secret(self.keyring.decrypt(row["token"], context=_context(account))),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
        )
