"""Resource helpers: ``client.tickets.list()``, ``client.integrations.create({...})``, etc.

Each collection maps one REST resource (gorgias-platform.md §4.2) to typed records from
``models.py``; lists are lazy iterators over cursor pages. Only the client's verbs are used,
so every call here goes through the same auth, rate budget, retries and typed errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import Generic
from typing import Protocol
from typing import TypeVar

from .models import Message
from .models import Record
from .models import Ticket

R = TypeVar("R", bound=Record)
JSON = dict[str, Any]


class Verbs(Protocol):
    """What a collection needs from the client."""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> JSON: ...
    def post(self, path: str, json: Mapping[str, Any] | None = None) -> JSON: ...
    def put(self, path: str, json: Mapping[str, Any] | None = None) -> JSON: ...
    def delete(self, path: str) -> JSON: ...
    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int = 100
    ) -> Iterator[JSON]: ...


class Collection(Generic[R]):
    """A read-only collection: ``list`` (lazy, all pages) and ``get``."""

    def __init__(self, verbs: Verbs, path: str, record: type[R]) -> None:
        self._verbs = verbs
        self.path = path
        self.record = record

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def list(self, *, limit: int = 100, **params: Any) -> Iterator[R]:
        """Iterate every item, fetching ``limit`` (≤ 100) per page as the iteration goes."""
        for item in self._verbs.paginate(self.path, params, limit=limit):
            yield self.record.from_json(item)

    def get(self, obj_id: int) -> R:
        """Fetch one item by id (:class:`NotFound` if it does not exist)."""
        return self.record.from_json(self._verbs.get(f"{self.path}/{int(obj_id)}"))


class WritableCollection(Collection[R]):
    """A collection the app may write: ``create`` (POST), ``update`` (PUT), ``delete``."""

    def create(self, body: Mapping[str, Any]) -> R:
        """POST a new item; never retried blindly (:class:`OutcomeUnknown` if unsure)."""
        return self.record.from_json(self._verbs.post(self.path, body))

    def update(self, obj_id: int, body: Mapping[str, Any]) -> R:
        """PUT the item (a widget PUT replaces it whole)."""
        return self.record.from_json(self._verbs.put(f"{self.path}/{int(obj_id)}", body))

    def delete(self, obj_id: int) -> None:
        """DELETE the item."""
        self._verbs.delete(f"{self.path}/{int(obj_id)}")


class Tickets(Collection[Ticket]):
    """Tickets: list, get, create with a first message, add messages."""

    def __init__(self, verbs: Verbs) -> None:
        super().__init__(verbs, "/tickets", Ticket)

    def create(self, *, message: Mapping[str, Any], **fields: Any) -> Ticket:
        """POST a ticket with its first message (Gorgias refuses a ticket without one)."""
        body = {**fields, "messages": [dict(message)]}
        return Ticket.from_json(self._verbs.post(self.path, body))

    def add_message(self, ticket_id: int, message: Mapping[str, Any]) -> Message:
        """POST a message to a ticket (sent by Gorgias unless ``sent_datetime`` is set)."""
        return Message.from_json(
            self._verbs.post(f"{self.path}/{int(ticket_id)}/messages", message)
        )

    def messages(self, ticket_id: int, *, limit: int = 100) -> Iterator[Message]:
        """Iterate a ticket's messages, oldest first."""
        path = f"{self.path}/{int(ticket_id)}/messages"
        for item in self._verbs.paginate(path, None, limit=limit):
            yield Message.from_json(item)


def message(
    body_text: str,
    *,
    sender_email: str | None = None,
    from_agent: bool = False,
    channel: str = "api",
    via: str = "api",
    subject: str | None = None,
    **extra: Any,
) -> JSON:
    """Build a message body: inbound from a customer by default (gorgias-platform.md §4.2)."""
    body: JSON = {
        "channel": channel,
        "via": via,
        "from_agent": from_agent,
        "body_text": body_text,
        **extra,
    }
    if sender_email is not None:
        body["sender"] = {"email": sender_email}
    if subject is not None:
        body["subject"] = subject
    return body
