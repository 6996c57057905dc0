"""The records of the inbound half: events Gorgias delivered, and each integration's health.

Frozen dataclasses, passed between ``store/sql/inbound_*.py``, ``inbound/`` and the pages.
Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .account import Account
from .secret import Secret


class EventStatus(StrEnum):
    """Where an event is: pending → running → done, or retrying → … → dead (the dead letters)."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"
    DEAD = "dead"

    @property
    def open(self) -> bool:
        """Whether the event still waits for its handler to succeed."""
        return self in (EventStatus.PENDING, EventStatus.RUNNING, EventStatus.RETRYING)


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundEvent:
    """One event Gorgias delivered (once, however many times it was delivered)."""

    id: int
    account: Account
    integration: str
    trigger: str
    dedupe_key: str
    ticket_id: str | None
    payload: dict[str, Any]
    status: EventStatus
    attempts: int
    deliveries: int
    received_at: datetime
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """What recording a delivery did: the event, and whether it was new (not a duplicate)."""

    event: InboundEvent
    is_new: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationHealth:
    """How one declared integration of an account has been answering Gorgias."""

    account: Account
    integration: str
    consecutive_failures: int
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    # As last seen at Gorgias by the repair job (None: active, or never checked).
    deactivated_at: datetime | None = None
    repaired_at: datetime | None = None

    def at_risk(self, threshold: int) -> bool:
        """Whether Gorgias is close to deactivating it (or already did)."""
        return self.deactivated_at is not None or self.consecutive_failures >= threshold

    def state(self, threshold: int) -> str:
        """``ok``, ``at risk`` or ``deactivated``, as the operator pages and CLI show it."""
        if self.deactivated_at is not None:
            return "deactivated"
        return "at risk" if self.at_risk(threshold) else "ok"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredKey:
    """One opened inbound key; ``retires_at`` is ``None`` for the current one."""

    key_id: str
    key: Secret
    created_at: datetime
    retires_at: datetime | None

    def __repr__(self) -> str:
        return f"StoredKey(key_id={self.key_id!r}, retires_at={self.retires_at!r})"
