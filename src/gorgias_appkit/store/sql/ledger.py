"""The ledger: every Gorgias object the app created in an account, so disconnect can remove it.

A row is written right after the create call succeeds and is marked deleted (``deleted_at``)
once the object is gone, so an interrupted clean-up resumes from the rows still live. ``name``
(stored in ``detail``) is the app's own key for an object ("sidebar"), which makes re-creating
on reinstall idempotent. Rows hold ids only, never a token. Only SQLAlchemy and the stdlib.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import LedgerEntry
from ..schema import ledger

L = ledger.c


class SQLLedger:
    """The ``gorgias_ledger`` table."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLLedger({self.engine.url.render_as_string(hide_password=True)!r})"

    def record(
        self, account: Account, *, kind: str, remote_id: str, name: str | None
    ) -> LedgerEntry:
        """Remember a created object; recording the same object twice keeps one live row."""
        now = self.clock.now()
        values = {"created_at": now, "deleted_at": None, "detail": name}
        key = (L.account == account, L.kind == kind, L.remote_id == remote_id)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(ledger).values(account=account, kind=kind, remote_id=remote_id, **values)
                )
        except IntegrityError:  # the same id again (e.g. ids reused by a reset sandbox)
            with self.engine.begin() as conn:
                conn.execute(update(ledger).where(*key).values(**values))
        return LedgerEntry(
            account=account, kind=kind, remote_id=remote_id, name=name, created_at=now
        )

    def live(self, account: Account) -> list[LedgerEntry]:
        """Objects still to remove, newest first (so dependants go before what they use)."""
        query = select(ledger).where(L.account == account, L.deleted_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(L.id.desc())).mappings().all()
        return [_entry(r) for r in rows]

    def find(self, account: Account, *, kind: str, name: str) -> LedgerEntry | None:
        """Return the newest live object of ``kind`` the app calls ``name``, or ``None``."""
        return next((e for e in self.live(account) if e.kind == kind and e.name == name), None)

    def entries(self, account: Account, *, limit: int = 100) -> list[LedgerEntry]:
        """Every row of ``account``, removed ones included, newest first (for operators)."""
        query = select(ledger).where(L.account == account).order_by(L.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query).mappings().all()]

    def mark_deleted(self, account: Account, *, kind: str, remote_id: str) -> None:
        """Record that the object no longer exists in the account."""
        with self.engine.begin() as conn:
            conn.execute(
                update(ledger)
                .where(
                    L.account == account,
                    L.kind == kind,
                    L.remote_id == remote_id,
                    L.deleted_at.is_(None),
                )
                .values(deleted_at=self.clock.now())
            )

    def purge(self, account: Account) -> int:
        """Forget every row of ``account``; return how many there were."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(ledger).where(L.account == account)).rowcount)

    def live_per_account(self) -> dict[str, int]:
        """Live objects per account (one query for the operator's list)."""
        query = select(L.account, func.count()).where(L.deleted_at.is_(None)).group_by(L.account)
        with self.engine.connect() as conn:
            return {account: int(n) for account, n in conn.execute(query).all()}

    def live_counts(self) -> dict[str, int]:
        """Live objects per kind across every account (a metrics gauge)."""
        query = select(L.kind, func.count()).where(L.deleted_at.is_(None)).group_by(L.kind)
        with self.engine.connect() as conn:
            return {kind: int(n) for kind, n in conn.execute(query).all()}


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        account=Account(row["account"]),
        kind=row["kind"],
        remote_id=row["remote_id"],
        name=row["detail"],
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
    )
