"""Frozen records for the few Gorgias resources an app uses, parsed at the edge. Stdlib only.

Each record keeps a handful of typed fields and the whole JSON object as a read-only ``raw``
mapping, so ``ticket["custom_fields"]`` and ``ticket.get("meta")`` keep working for anything
not modelled. Parsing is lenient (a missing field is ``None``): Gorgias adds fields freely, and
the typed part should never make a valid answer unusable. Datetimes come back aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from types import MappingProxyType
from typing import Any
from typing import TypeVar

R = TypeVar("R", bound="Record")


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Record(Mapping[str, Any]):
    """Base of every record: typed fields plus read-only access to the raw JSON object."""

    id: int | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        """Build the record from one decoded JSON object."""
        return cls(id=_int(data.get("id")), raw=MappingProxyType(dict(data)), **cls._fields(data))

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountInfo(Record):
    """``GET /api/account``: the tenant (it has no ``id``; ``domain`` is the account name)."""

    domain: str | None = None
    status: str | None = None
    created_datetime: datetime | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        status = data.get("status")
        return {
            "domain": _str(data.get("domain")),
            "status": _str(status.get("status")) if isinstance(status, Mapping) else _str(status),
            "created_datetime": _when(data.get("created_datetime")),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket(Record):
    """A ticket (its ``messages`` stay in ``raw`` when the API includes them)."""

    subject: str | None = None
    status: str | None = None
    channel: str | None = None
    customer_id: int | None = None
    messages_count: int | None = None
    created_datetime: datetime | None = None
    updated_datetime: datetime | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        customer = data.get("customer")
        return {
            "subject": _str(data.get("subject")),
            "status": _str(data.get("status")),
            "channel": _str(data.get("channel")),
            "customer_id": _int(customer.get("id")) if isinstance(customer, Mapping) else None,
            "messages_count": _int(data.get("messages_count")),
            "created_datetime": _when(data.get("created_datetime")),
            "updated_datetime": _when(data.get("updated_datetime")),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Record):
    """A ticket message."""

    ticket_id: int | None = None
    channel: str | None = None
    from_agent: bool | None = None
    body_text: str | None = None
    created_datetime: datetime | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        from_agent = data.get("from_agent")
        return {
            "ticket_id": _int(data.get("ticket_id")),
            "channel": _str(data.get("channel")),
            "from_agent": from_agent if isinstance(from_agent, bool) else None,
            "body_text": _str(data.get("body_text")),
            "created_datetime": _when(data.get("created_datetime")),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer(Record):
    """A customer (someone who writes to the merchant)."""

    email: str | None = None
    name: str | None = None
    created_datetime: datetime | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "email": _str(data.get("email")),
            "name": _str(data.get("name")),
            "created_datetime": _when(data.get("created_datetime")),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Record):
    """A user: an agent of the merchant's helpdesk."""

    email: str | None = None
    name: str | None = None
    role: str | None = None
    active: bool | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        role = data.get("role")
        active = data.get("active")
        return {
            "email": _str(data.get("email")),
            "name": _str(data.get("name")),
            "role": _str(role.get("name")) if isinstance(role, Mapping) else _str(role),
            "active": active if isinstance(active, bool) else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Integration(Record):
    """An HTTP integration (what an app creates on install)."""

    name: str | None = None
    type: str | None = None
    url: str | None = None
    deactivated_datetime: datetime | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        http = data.get("http")
        return {
            "name": _str(data.get("name")),
            "type": _str(data.get("type")),
            "url": _str(http.get("url")) if isinstance(http, Mapping) else None,
            "deactivated_datetime": _when(data.get("deactivated_datetime")),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Widget(Record):
    """A sidebar widget showing an integration's data."""

    type: str | None = None
    context: str | None = None
    integration_id: int | None = None
    order: int | None = None

    @staticmethod
    def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": _str(data.get("type")),
            "context": _str(data.get("context")),
            "integration_id": _int(data.get("integration_id")),
            "order": _int(data.get("order")),
        }


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
