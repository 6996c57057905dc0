"""Changes to tickets shared by the REST API and the ticket pages, and the events they cause.

Owns message validation and creation, the ticket object ``POST /api/tickets`` creates, the
fields ``PUT /api/tickets/<id>`` may change (``status`` open/closed, ``subject``, ``priority``,
``assignee_user`` ``{"id"}`` or null, ``snooze_datetime`` ISO 8601 or null; other fields are
ignored), and which triggers each change fires: every update fires ``ticket-updated``, plus
``ticket-status-updated`` when the status changed and ``ticket-assignment-updated`` when the
assignee did. Callers hold ``world.lock``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .seed import message_object, now_iso, person
from .world import AccountData

STATUSES = ("open", "closed")
PRIORITIES = ("low", "normal", "high", "critical")


def message_problems(msg: Any, where: str) -> list[str]:
    """Everything wrong with a message object sent to the API."""
    if not isinstance(msg, dict):
        return [f"{where}: must be an object."]
    problems = [
        f"{where}.{f}: Missing data for required field."
        for f in ("channel", "via")
        if not isinstance(msg.get(f), str) or not msg[f]
    ]
    if not isinstance(msg.get("from_agent"), bool):
        problems.append(f"{where}.from_agent: Missing data for required field.")
    if not (msg.get("body_text") or msg.get("body_html")):
        problems.append(f"{where}: body_text or body_html is required.")
    return problems


def new_message(
    acct: AccountData, ticket_id: int, msg: dict[str, Any], agent: dict[str, Any]
) -> dict[str, Any]:
    """A message object from a valid API message (``agent`` sends it when from_agent)."""
    sender = msg.get("sender") if isinstance(msg.get("sender"), dict) else None
    if sender is None and msg["from_agent"]:
        sender = person(agent)
    return message_object(
        ticket_id,
        acct.new_id("message"),
        channel=msg["channel"],
        via=msg["via"],
        from_agent=msg["from_agent"],
        sender=sender,
        body_text=msg.get("body_text"),
        body_html=msg.get("body_html"),
        subject=msg.get("subject"),
        receiver=msg.get("receiver"),
        when=msg.get("sent_datetime") or now_iso(),
    )


def new_ticket(
    ticket_id: int,
    body: dict[str, Any],
    thread: list[dict[str, Any]],
    customer: dict[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """A ticket object from a valid ``POST /api/tickets`` body and its first messages."""
    first = thread[0]
    return {
        "id": ticket_id,
        "uri": f"/api/tickets/{ticket_id}/",
        "external_id": body.get("external_id"),
        "language": body.get("language"),
        "status": body.get("status", "open"),
        "priority": body.get("priority", "normal"),
        "channel": body.get("channel", first["channel"]),
        "via": body.get("via", first["via"]),
        "from_agent": first["from_agent"],
        "customer": customer,
        "assignee_user": None,
        "assignee_team": None,
        "subject": body.get("subject") or first.get("subject"),
        "excerpt": (first["body_text"] or "")[:80],
        "tags": [{"name": t.get("name")} for t in body.get("tags", []) if isinstance(t, dict)],
        "custom_fields": {},
        "messages_count": len(thread),
        "meta": body.get("meta") or {},
        "spam": False,
        "created_datetime": now,
        "opened_datetime": now,
        "updated_datetime": now,
        "closed_datetime": None,
        "trashed_datetime": None,
        "snooze_datetime": None,
        "last_message_datetime": now,
        "last_received_message_datetime": None if first["from_agent"] else now,
    }


def append_message(acct: AccountData, ticket: dict[str, Any], message: dict[str, Any]) -> None:
    """Add ``message`` to the ticket's thread and update the ticket's counters and dates."""
    acct.messages.setdefault(ticket["id"], []).append(message)
    ticket.update(
        messages_count=ticket["messages_count"] + 1,
        updated_datetime=message["created_datetime"],
        last_message_datetime=message["created_datetime"],
    )


def update_problems(acct: AccountData, body: dict[str, Any]) -> dict[str, list[str]]:
    """Everything wrong with a ticket update."""
    problems: dict[str, list[str]] = {}
    if "status" in body and body["status"] not in STATUSES:
        problems["status"] = [f"Must be one of {', '.join(STATUSES)}."]
    if "priority" in body and body["priority"] not in PRIORITIES:
        problems["priority"] = [f"Must be one of {', '.join(PRIORITIES)}."]
    if "subject" in body and (not isinstance(body["subject"], str) or not body["subject"]):
        problems["subject"] = ["Must be a non-empty string."]
    assignee = body.get("assignee_user")
    if assignee is not None and not (
        isinstance(assignee, dict)
        and isinstance(assignee.get("id"), int)
        and acct.user(assignee["id"]) is not None
    ):
        problems["assignee_user"] = ['Must be null or {"id": <a user of this account>}.']
    snooze = body.get("snooze_datetime")
    if snooze is not None and not _is_datetime(snooze):
        problems["snooze_datetime"] = ["Must be null or an ISO 8601 date-time."]
    return problems


def _is_datetime(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value) is not None
    except ValueError:
        return False


def apply_update(acct: AccountData, ticket: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """Apply a valid update; return the triggers it fires (hyphenated)."""
    now, triggers = now_iso(), ["ticket-updated"]
    if "status" in body and body["status"] != ticket["status"]:
        ticket["status"] = body["status"]
        ticket["closed_datetime"] = now if body["status"] == "closed" else None
        triggers.append("ticket-status-updated")
    if "assignee_user" in body:
        ref = body["assignee_user"]
        user = person(acct.user(ref["id"]) or {}) if ref else None
        if user != ticket["assignee_user"]:
            ticket["assignee_user"] = user
            triggers.append("ticket-assignment-updated")
    for name in ("subject", "priority", "snooze_datetime"):
        if name in body:
            ticket[name] = body[name]
    ticket["updated_datetime"] = now
    return triggers


def self_unsnooze(ticket: dict[str, Any]) -> None:
    """The ticket's snooze ran out: it is open again."""
    ticket.update(snooze_datetime=None, status="open", closed_datetime=None)
    ticket["updated_datetime"] = now_iso()
