"""How each declared integration answers Gorgias: consecutive failures, and what Gorgias says.

Gorgias deactivates an HTTP integration after 100 failed calls in a row. Every answer the app
gives is counted here with one atomic upsert (``failures + 1``, or back to 0), so the count
holds across processes; the repair job records what Gorgias reports (``deactivated_at``) and
when it reactivated an integration. Only SQLAlchemy and the stdlib.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ...core.account import Account
from ...core.clock import Clock
from ...core.inbound_records import IntegrationHealth
from ..schema import inbound_health

H = inbound_health.c
QUIET = timedelta(seconds=60)


class SQLInboundHealth:
    """The ``gorgias_inbound_health`` table."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLInboundHealth({self.engine.url.render_as_string(hide_password=True)!r})"

    def success(self, account: Account, integration: str) -> None:
        """An answer Gorgias accepts: the count of failures in a row goes back to 0.

        Most answers succeed: a row already at 0 with a success in the last minute is left as
        it is, so the common case is one read, not a write per call.
        """
        now = self.clock.now()
        found = self.find(account, integration)
        last = found.last_success_at if found is not None else None
        if found is not None and not found.consecutive_failures and last and now - last < QUIET:
            return
        self._upsert(
            {
                "account": account,
                "integration": integration,
                "consecutive_failures": 0,
                "last_success_at": now,
            },
            {"consecutive_failures": 0, "last_success_at": now},
        )

    def failure(self, account: Account, integration: str, *, error: str) -> int:
        """A failed answer; return the number of failures in a row now."""
        now = self.clock.now()
        self._upsert(
            {
                "account": account,
                "integration": integration,
                "consecutive_failures": 1,
                "last_failure_at": now,
                "last_error": error[:300],
            },
            {
                "consecutive_failures": H.consecutive_failures + 1,
                "last_failure_at": now,
                "last_error": error[:300],
            },
        )
        found = self.find(account, integration)
        return found.consecutive_failures if found else 1

    def _upsert(self, values: dict[str, Any], changes: dict[str, Any]) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(inbound_health).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[H.account, H.integration], set_=changes
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def seen_at_gorgias(
        self, account: Account, integration: str, *, deactivated_at: datetime | None
    ) -> None:
        """Record what Gorgias reports: deactivated (and since when) or active."""
        self._upsert(
            {
                "account": account,
                "integration": integration,
                "consecutive_failures": 0,
                "deactivated_at": deactivated_at,
            },
            {"deactivated_at": deactivated_at},
        )

    def repaired(self, account: Account, integration: str) -> None:
        """The repair job reactivated the integration: Gorgias counts from 0 again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(inbound_health)
                .where(H.account == account, H.integration == integration)
                .values(deactivated_at=None, consecutive_failures=0, repaired_at=self.clock.now())
            )

    def find(self, account: Account, integration: str) -> IntegrationHealth | None:
        """One integration's record, or ``None`` before its first answer."""
        query = select(inbound_health).where(H.account == account, H.integration == integration)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _health(row)

    def of(self, account: Account) -> list[IntegrationHealth]:
        """Every integration of ``account`` that answered at least once."""
        query = select(inbound_health).where(H.account == account).order_by(H.integration)
        with self.engine.connect() as conn:
            return [_health(r) for r in conn.execute(query).mappings().all()]

    def at_risk(self, threshold: int) -> list[IntegrationHealth]:
        """Integrations close to (or past) Gorgias' limit, across every account."""
        query = (
            select(inbound_health)
            .where((H.consecutive_failures >= threshold) | H.deactivated_at.is_not(None))
            .order_by(H.account, H.integration)
        )
        with self.engine.connect() as conn:
            return [_health(r) for r in conn.execute(query).mappings().all()]

    def purge(self, account: Account) -> int:
        """Forget every record of ``account``."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(inbound_health).where(H.account == account)).rowcount)


def _health(row: RowMapping) -> IntegrationHealth:
    return IntegrationHealth(
        account=Account(row["account"]),
        integration=row["integration"],
        consecutive_failures=row["consecutive_failures"],
        last_success_at=row["last_success_at"],
        last_failure_at=row["last_failure_at"],
        last_error=row["last_error"],
        deactivated_at=row["deactivated_at"],
        repaired_at=row["repaired_at"],
    )
