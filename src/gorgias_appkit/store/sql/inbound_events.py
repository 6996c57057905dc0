"""Delivered events, the source of truth of the event queue (``gorgias_inbound_events``).

A delivery is recorded once per ``dedupe_key`` (a unique column): a repeat adds one to
``deliveries`` and changes nothing else, so a Gorgias retry never runs a handler twice. A
worker *claims* an event with one conditional ``UPDATE`` (due, and not claimed by someone else
whose lease is still running), so two workers handed the same event by the queue (a sweep
re-enqueued it, or the queue delivered twice) run it once. Only SQLAlchemy and the stdlib.
"""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ...core.account import Account
from ...core.clock import Clock
from ...core.inbound_records import EventStatus
from ...core.inbound_records import InboundEvent
from ...core.inbound_records import Recorded
from ..schema import inbound_events

E = inbound_events.c
S = EventStatus
# A queue's timer may fire slightly before our clock says an event is due (another process's
# clock, rounding): a claim accepts events due within this many seconds.
DUE_SLACK = timedelta(seconds=2)


class SQLInboundEvents:
    """The ``gorgias_inbound_events`` table."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLInboundEvents({self.engine.url.render_as_string(hide_password=True)!r})"

    def record(
        self,
        account: Account,
        *,
        integration: str,
        trigger: str,
        dedupe_key: str,
        ticket_id: str | None,
        payload: dict[str, Any],
    ) -> Recorded:
        """Store a delivery as a pending event, or count it as a repeat of a known one."""
        now = self.clock.now()
        row = {
            "account": account,
            "integration": integration,
            "trigger": trigger,
            "dedupe_key": dedupe_key,
            "ticket_id": ticket_id,
            "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True),
            "status": S.PENDING.value,
            "attempts": 0,
            "deliveries": 1,
            "received_at": now,
            "next_attempt_at": now,
        }
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(insert(inbound_events).values(**row)).inserted_primary_key
            event = self.get(int(new_id[0]))  # type: ignore[index]
            assert event is not None  # noqa: S101 - just inserted in a committed transaction
            return Recorded(event=event, is_new=True)
        except IntegrityError:  # the same event again: a Gorgias retry
            with self.engine.begin() as conn:
                conn.execute(
                    update(inbound_events)
                    .where(E.dedupe_key == dedupe_key)
                    .values(deliveries=E.deliveries + 1)
                )
                found = (
                    conn.execute(select(inbound_events).where(E.dedupe_key == dedupe_key))
                    .mappings()
                    .one()
                )
            return Recorded(event=_event(found), is_new=False)

    def get(self, event_id: int) -> InboundEvent | None:
        """One event, or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(inbound_events).where(E.id == event_id)).mappings().first()
        return None if row is None else _event(row)

    def claim(self, event_id: int, *, lease: float) -> InboundEvent | None:
        """Take the event for one run if it is due and nobody holds it; else ``None``."""
        now = self.clock.now()
        due = or_(
            and_(
                E.status.in_((S.PENDING.value, S.RETRYING.value)),
                E.next_attempt_at <= now + DUE_SLACK,
            ),
            and_(E.status == S.RUNNING.value, E.lease_until < now),  # its worker died
        )
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(inbound_events)
                .where(E.id == event_id, due)
                .values(
                    status=S.RUNNING.value,
                    attempts=E.attempts + 1,
                    lease_until=now + timedelta(seconds=lease),
                )
            ).rowcount
        return self.get(event_id) if taken == 1 else None

    def finish(self, event: InboundEvent) -> bool:
        """Mark a claimed event done; ``False`` if the claim was lost meanwhile."""
        return self._close(event, status=S.DONE, finished_at=self.clock.now(), error=None)

    def fail(self, event: InboundEvent, *, error: str, retry_at: datetime | None) -> bool:
        """Record a failed run: retry at ``retry_at``, or (``None``) a dead letter."""
        status = S.RETRYING if retry_at is not None else S.DEAD
        finished = None if retry_at is not None else self.clock.now()
        return self._close(
            event, status=status, finished_at=finished, error=error, next_attempt_at=retry_at
        )

    def _close(
        self,
        event: InboundEvent,
        *,
        status: EventStatus,
        finished_at: datetime | None,
        error: str | None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(inbound_events)
                .where(
                    E.id == event.id,
                    E.status == S.RUNNING.value,
                    E.attempts == event.attempts,  # still our claim, not a later one
                )
                .values(
                    status=status.value,
                    finished_at=finished_at,
                    last_error=error[:500] if error else None,
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                )
            ).rowcount
        return done == 1

    def replay(self, event_id: int) -> bool:
        """Give a dead letter a fresh set of attempts now; ``False`` if it is not dead."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(inbound_events)
                .where(E.id == event_id, E.status == S.DEAD.value)
                .values(
                    status=S.PENDING.value,
                    attempts=0,
                    next_attempt_at=self.clock.now(),
                    finished_at=None,
                )
            ).rowcount
        return done == 1

    def stranded(self, *, older_than: float, limit: int = 1000) -> list[int]:
        """Open events nobody took in time: due for ``older_than`` seconds, or lease over."""
        now = self.clock.now()
        late = now - timedelta(seconds=older_than)
        query = (
            select(E.id)
            .where(
                or_(
                    and_(
                        E.status.in_((S.PENDING.value, S.RETRYING.value)),
                        E.next_attempt_at <= late,
                    ),
                    and_(E.status == S.RUNNING.value, E.lease_until < now),
                )
            )
            .order_by(E.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

    def latest(
        self,
        *,
        account: Account | None = None,
        status: EventStatus | None = None,
        limit: int = 50,
    ) -> list[InboundEvent]:
        """The newest events first, optionally of one account or in one state."""
        query = select(inbound_events).order_by(E.id.desc()).limit(limit)
        if account is not None:
            query = query.where(E.account == account)
        if status is not None:
            query = query.where(E.status == status.value)
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(query).mappings().all()]

    def counts(self) -> dict[str, int]:
        """Events per state (zeros included), across every account."""
        counts = {s.value: 0 for s in EventStatus}
        query = select(E.status, func.count()).group_by(E.status)
        with self.engine.connect() as conn:
            for status, number in conn.execute(query).all():
                counts[str(status)] = int(number)
        return counts

    def purge(self, account: Account) -> int:
        """Forget every event of ``account``."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(inbound_events).where(E.account == account)).rowcount)


def _event(row: RowMapping) -> InboundEvent:
    return InboundEvent(
        id=row["id"],
        account=Account(row["account"]),
        integration=row["integration"],
        trigger=row["trigger"],
        dedupe_key=row["dedupe_key"],
        ticket_id=row["ticket_id"],
        payload=json.loads(row["payload"]),
        status=EventStatus(row["status"]),
        attempts=row["attempts"],
        deliveries=row["deliveries"],
        received_at=row["received_at"],
        next_attempt_at=row["next_attempt_at"],
        finished_at=row["finished_at"],
        last_error=row["last_error"],
    )
