"""What the dashboard shows of the account and its tickets, read defensively from the API.

The API's JSON is data from outside: a field may be missing, or of another type than documented
(a ``customer`` that is a string, a date that is a number). Each row is built from plain strings
here, so the template never calls a method on an unexpected type (a 500), and the page shows at
most :data:`MAX_ROWS` tickets whatever the API sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

MAX_ROWS = 10
MAX_TEXT = 200
# Statuses that get a coloured badge; anything else is shown plainly.
KNOWN_STATUSES = frozenset({"open", "closed", "pending", "snoozed", "new"})


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One line of the "Latest tickets" table, every field a display string."""

    id: str
    subject: str
    status: str
    badge: str
    customer: str
    created: str


def account_name(info: object, fallback: str) -> str:
    """The account's display name, or ``fallback`` when the API did not send a usable one."""
    name = text(info.get("name")) if isinstance(info, Mapping) else ""
    return name or fallback


def ticket_rows(tickets: object, *, limit: int = MAX_ROWS) -> list[TicketRow]:
    """At most ``limit`` rows from a list of ticket objects; anything else is skipped."""
    rows: list[TicketRow] = []
    for raw in tickets if isinstance(tickets, list) else []:
        if len(rows) >= limit:
            break
        if isinstance(raw, Mapping):
            rows.append(_row(raw))
    return rows


def _row(raw: Mapping[str, object]) -> TicketRow:
    status = text(raw.get("status"))
    return TicketRow(
        id=text(raw.get("id")),
        subject=text(raw.get("subject")),
        status=status,
        badge=status if status in KNOWN_STATUSES else "",
        customer=_customer(raw.get("customer")),
        created=_when(raw.get("created_datetime")),
    )


def text(value: object) -> str:
    """A string or a whole number as text (bounded); any other type as empty."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, str | int):
        return str(value)[:MAX_TEXT]
    return ""


def _customer(value: object) -> str:
    if isinstance(value, Mapping):
        return text(value.get("name")) or text(value.get("email"))
    return text(value) if isinstance(value, str) else ""


def _when(value: object) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    aware = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return aware.strftime("%Y-%m-%d %H:%M")
