"""Believable, deterministic seed data for one account (``random.Random(domain)``).

Builds the account record, ~8 agents, ~120 customers and 60-250 tickets with their messages,
shaped like Gorgias' Account, User, Customer, Ticket and Message objects. The same domain
always yields the same data; timestamps are anchored to a fixed date, not to "now".
"""

from __future__ import annotations

import html
import random
from datetime import UTC, datetime, timedelta
from typing import Any

ANCHOR = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
KNOWN_NAMES = {"acme": "Acme Inc", "globex": "Globex Corporation", "initech": "Initech"}


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Alice Bruno Chloe Diego Emma Farid Grace Hugo Ines Jonas Kenji Lena Marco Nadia Oscar "
    "Priya Quentin Rosa Samir Tara Ugo Vera Wes Yara Zoe Liam Maya Noah Olga Pablo"
)
LAST = _words(
    "Martin Nguyen Garcia Smith Dubois Kowalski Rossi Tanaka Okafor Silva Novak Jensen Haddad "
    "Murphy Schmidt Costa Ivanova Park Lopez Brown"
)
ROLES = ["admin", "agent", "agent", "agent", "basic-agent", "lite-agent", "observer-agent", "agent"]
SUBJECTS = [
    "Where is my order #{n}?",
    "Refund request for order #{n}",
    "Wrong size received",
    "Can I change my shipping address?",
    "Discount code not working",
    "Package arrived damaged",
    "Question about sizing",
    "Cancel my subscription",
    "When will this item be back in stock?",
    "Return label request",
    "Order #{n} never arrived",
    "Charged twice for order #{n}",
    "How do I track my package?",
    "Exchange for a different colour",
    "Loyalty points missing",
    "Invoice for order #{n}",
]
TAGS = ["order-status", "refund", "shipping", "urgent", "vip", "returns", "billing"]
CHANNELS = [
    ("email", "email"),
    ("email", "email"),
    ("chat", "chat"),
    ("api", "api"),
    ("contact_form", "form"),
]
LANGS = [
    ("en", "America/New_York"),
    ("en", "Europe/London"),
    ("fr", "Europe/Paris"),
    ("de", "Europe/Berlin"),
    ("es", "Europe/Madrid"),
]


def iso(moment: datetime) -> str:
    """Gorgias-style ISO 8601 timestamp."""
    return moment.isoformat()


def now_iso() -> str:
    """The current time, Gorgias-style."""
    return iso(datetime.now(UTC))


def company_name(domain: str) -> str:
    """A display name for an account domain."""
    return KNOWN_NAMES.get(domain, domain.replace("-", " ").title() + " Inc")


def person(user: dict[str, Any]) -> dict[str, Any]:
    """The short form of a user or customer embedded in other objects."""
    return {k: user[k] for k in ("id", "email", "name", "firstname", "lastname")}


def seed_account(domain: str, name: str | None = None) -> dict[str, Any]:
    """Return ``record``, ``users``, ``customers``, ``tickets``, ``messages``, ``next_ids``."""
    rng = random.Random(domain)  # noqa: S311 - deterministic fake data, not secrets
    created = ANCHOR - timedelta(days=rng.randint(400, 1500))
    mail_domain = f"{domain}.example.com"
    record = {
        "domain": domain,
        "name": name or company_name(domain),
        "created_datetime": iso(created),
        "deactivated_datetime": None,
        "status": {"status": "active"},
        "settings": [
            {
                "id": 1,
                "type": "business-hours",
                "data": {
                    "timezone": "UTC",
                    "business_hours": [
                        {"days": "1,2,3,4,5", "from_time": "09:00", "to_time": "18:00"}
                    ],
                },
            }
        ],
        "meta": {"hmac_secret": None},
        "current_subscription": {"status": "active", "plan": "pro"},
    }
    users: list[dict[str, Any]] = []
    for i, role in enumerate(ROLES):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        lang, tz = rng.choice(LANGS)
        when = iso(created + timedelta(days=i * 11))
        users.append(
            {
                "id": 100 + i * 7 + rng.randint(0, 6),
                "active": True,
                "email": f"{first.lower()}.{last.lower()}@{mail_domain}",
                "name": f"{first} {last}",
                "firstname": first,
                "lastname": last,
                "bio": None,
                "country": None,
                "language": lang,
                "timezone": tz,
                "external_id": None,
                "meta": {},
                "role": {"name": role},
                "created_datetime": when,
                "updated_datetime": when,
                "deactivated_datetime": None,
            }
        )
    customers: list[dict[str, Any]] = []
    for i in range(rng.randint(110, 130)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        lang, tz = rng.choice(LANGS)
        email = f"{first.lower()}.{last.lower()}{i}@mail.example.org"
        when = iso(created + timedelta(days=rng.randint(0, 390), minutes=rng.randint(0, 1440)))
        customers.append(
            {
                "id": 5000 + i,
                "email": email,
                "name": f"{first} {last}",
                "firstname": first,
                "lastname": last,
                "external_id": f"cus_{rng.randint(10**6, 10**7)}",
                "language": lang,
                "timezone": tz,
                "channels": [
                    {"id": 9000 + i, "type": "email", "address": email, "preferred": True}
                ],
                "data": {},
                "integrations": {},
                "note": None,
                "meta": {},
                "created_datetime": when,
                "updated_datetime": when,
            }
        )
    tickets: list[dict[str, Any]] = []
    messages: dict[int, list[dict[str, Any]]] = {}
    next_message = 700_000
    agents = [u for u in users if u["role"]["name"] != "observer-agent"]
    for i in range(rng.randint(60, 250)):
        customer = rng.choice(customers)
        channel, via = rng.choice(CHANNELS)
        subject = rng.choice(SUBJECTS).format(n=rng.randint(1000, 9999))
        opened = ANCHOR - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1440))
        status = "closed" if rng.random() < 0.6 else "open"
        assignee = rng.choice(agents) if rng.random() < 0.7 else None
        ticket_id = 20_000 + i
        thread = []
        moment = opened
        for j in range(rng.randint(1, 4)):
            from_agent = j % 2 == 1
            author = (assignee or agents[0]) if from_agent else customer
            text = (
                f"Hi {customer['firstname']}, thanks for reaching out. We are looking into it."
                if from_agent
                else f"Hello, {subject.lower()} Thanks, {customer['firstname']}"
            )
            thread.append(
                message_object(
                    ticket_id,
                    next_message,
                    channel=channel,
                    via=via,
                    from_agent=from_agent,
                    sender=person(author),
                    body_text=text,
                    subject=subject,
                    when=iso(moment),
                )
            )
            next_message += 1
            moment += timedelta(minutes=rng.randint(5, 600))
        last = iso(moment)
        tickets.append(
            {
                "id": ticket_id,
                "uri": f"/api/tickets/{ticket_id}/",
                "external_id": None,
                "language": customer["language"],
                "status": status,
                "priority": rng.choice(["normal", "normal", "high", "low", "critical"]),
                "channel": channel,
                "via": via,
                "from_agent": False,
                "customer": person(customer),
                "assignee_user": person(assignee) if assignee else None,
                "assignee_team": None,
                "subject": subject,
                "excerpt": thread[0]["body_text"][:80],
                "tags": [
                    {
                        "id": 300 + TAGS.index(t),
                        "name": t,
                        "uri": f"/api/tags/{300 + TAGS.index(t)}/",
                        "decoration": None,
                    }
                    for t in rng.sample(TAGS, rng.randint(0, 2))
                ],
                "custom_fields": {},
                "messages_count": len(thread),
                "meta": {},
                "spam": False,
                "created_datetime": iso(opened),
                "opened_datetime": iso(opened),
                "updated_datetime": last,
                "closed_datetime": last if status == "closed" else None,
                "trashed_datetime": None,
                "snooze_datetime": None,
                "last_message_datetime": last,
                "last_received_message_datetime": thread[0]["created_datetime"],
            }
        )
        messages[ticket_id] = thread
    return {
        "record": record,
        "users": users,
        "customers": customers,
        "tickets": tickets,
        "messages": messages,
        "next_ids": {
            "ticket": 20_000 + len(tickets),
            "message": next_message,
            "integration": 4_000,
            "widget": 8_000,
            "customer": 5000 + len(customers),
        },
    }


def message_object(
    ticket_id: int,
    message_id: int,
    *,
    channel: str,
    via: str,
    from_agent: bool,
    sender: dict[str, Any] | None,
    body_text: str | None,
    subject: str | None,
    when: str,
    body_html: str | None = None,
    receiver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Gorgias-shaped ticket message."""
    return {
        "id": message_id,
        "uri": f"/api/tickets/{ticket_id}/messages/{message_id}/",
        "ticket_id": ticket_id,
        "channel": channel,
        "via": via,
        "from_agent": from_agent,
        "public": True,
        "sender": sender,
        "receiver": receiver,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html or (f"<p>{html.escape(body_text)}</p>" if body_text else None),
        "stripped_text": body_text,
        "attachments": [],
        "meta": {},
        "external_id": None,
        "integration_id": None,
        "rule_id": None,
        "source": {"type": channel},
        "created_datetime": when,
        "sent_datetime": when,
        "failed_datetime": None,
        "opened_datetime": None,
    }
