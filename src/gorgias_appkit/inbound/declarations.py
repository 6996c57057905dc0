"""What an app declares about the inbound half: HTTP integrations, widgets and their handlers.

An app builds one :class:`Integrations` and hands it to the kit (``kit.declare(...)``, or
``GorgiasKit(app, integrations=...)``). The kit creates the declared objects in every account
on install, updates them when the declaration changes (``installs sync``) and deletes them on
disconnect. :meth:`Integrations.problems` lists everything wrong with a declaration (names,
triggers, widget paths missing from the sample answer) so start-up fails with all of them.

Triggers follow Gorgias: ``ticket-created``, ``ticket-updated``, ``ticket-message-created``,
``ticket-self-unsnoozed``, ``ticket-message-failed``, and ``ticket-assignment-updated`` /
``ticket-status-updated``, which Gorgias does not let one integration combine with the first
five. Older docs spell them with underscores: both spellings are accepted here. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from ..core.account import Account

if TYPE_CHECKING:
    from ..api.client import GorgiasClient
    from ..core.inbound_records import InboundEvent

CLASSIC_TRIGGERS = (
    "ticket-created",
    "ticket-updated",
    "ticket-message-created",
    "ticket-self-unsnoozed",
    "ticket-message-failed",
)
EXCLUSIVE_TRIGGERS = ("ticket-assignment-updated", "ticket-status-updated")
TRIGGERS = CLASSIC_TRIGGERS + EXCLUSIVE_TRIGGERS
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Field names the kit fills in itself (the dedupe key and the handler's ticket id).
RESERVED_FIELDS = ("ticket_id", "ticket_updated")
EMPTY: Mapping[str, str] = MappingProxyType({})


def canonical_trigger(name: str) -> str | None:
    """The hyphenated trigger for either spelling, or ``None`` if Gorgias has no such trigger."""
    hyphenated = name.replace("_", "-")
    return hyphenated if hyphenated in TRIGGERS else None


# -- the widget template tree ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Node:
    """One node of a widget template: ``wrapper`` → ``card`` → ``text`` / ``list``."""

    type: str
    path: str = ""
    title: str | None = None
    children: tuple[Node, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The node as Gorgias' widget API takes it (children under ``widgets``)."""
        out: dict[str, Any] = {"type": self.type, "path": self.path}
        if self.title is not None:
            out["title"] = self.title
        if self.children or self.type in ("wrapper", "card", "list"):
            out["widgets"] = [child.to_json() for child in self.children]
        return out


def wrapper(*children: Node) -> Node:
    """The root of a widget template."""
    return Node("wrapper", children=children)


def card(title: str, *children: Node, path: str = "") -> Node:
    """A titled card; its children's paths are relative to ``path``."""
    return Node("card", path=path, title=title, children=children)


def text(title: str, path: str) -> Node:
    """One labelled value at ``path``."""
    return Node("text", path=path, title=title)


def items(path: str, *children: Node, title: str | None = None) -> Node:
    """A list at ``path``; its children are rendered for each item, relative to the item."""
    return Node("list", path=path, title=title, children=children)


# -- what handlers receive -------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DataCall:
    """A data handler's input: who asks, about which ticket, with the declared fields."""

    account: Account
    integration: str
    ticket_id: str | None
    fields: Mapping[str, Any]
    deadline: float
    client_for: Callable[[Account, float], GorgiasClient] = field(repr=False)

    def api(self) -> GorgiasClient:
        """An API client for the account whose calls end within the handler's deadline."""
        return self.client_for(self.account, self.deadline)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCall:
    """An event handler's input: the recorded event and an API client for its account."""

    event: InboundEvent
    client_for: Callable[[Account], GorgiasClient] = field(repr=False)

    @property
    def account(self) -> Account:
        """The account the event happened in."""
        return self.event.account

    @property
    def fields(self) -> Mapping[str, Any]:
        """The body Gorgias sent (the declared fields, rendered)."""
        return self.event.payload

    def api(self) -> GorgiasClient:
        """An API client for the account, on the background share of the rate budget."""
        return self.client_for(self.account)


DataHandler = Callable[[DataCall], Mapping[str, Any]]
EventHandler = Callable[[EventCall], None]


# -- declarations ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DataIntegration:
    """An integration whose answer a widget shows; ``sample`` is the answer's declared shape."""

    name: str
    handler: DataHandler
    sample: Mapping[str, Any]
    triggers: tuple[str, ...] = ("ticket-created", "ticket-updated")
    method: str = "POST"
    content_type: str = JSON
    fields: Mapping[str, str] = field(default_factory=dict)
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventIntegration:
    """An integration whose calls are events, handled off the request by the worker.

    The kit creates one Gorgias integration per trigger, so the handler knows which trigger
    fired and the exclusive triggers never meet the classic ones.
    """

    name: str
    handler: EventHandler
    triggers: tuple[str, ...]
    content_type: str = JSON
    fields: Mapping[str, str] = field(default_factory=dict)
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Widget:
    """A sidebar widget showing a data integration's answer."""

    name: str
    integration: str
    template: Node
    context: str = "ticket"
    order: int = 0


Declaration = DataIntegration | EventIntegration


class Integrations:
    """The app's declared integrations and widgets (decorators for the handlers)."""

    def __init__(self) -> None:
        self.data: dict[str, DataIntegration] = {}
        self.events: dict[str, EventIntegration] = {}
        self.widgets: dict[str, Widget] = {}
        self._duplicates: list[str] = []

    def __repr__(self) -> str:
        return (
            f"Integrations(data={list(self.data)}, events={list(self.events)}, "
            f"widgets={list(self.widgets)})"
        )

    def __bool__(self) -> bool:
        return bool(self.data or self.events or self.widgets)

    def add(self, item: DataIntegration | EventIntegration | Widget) -> None:
        """Declare one integration or widget (a name is used once per kind)."""
        if isinstance(item, Widget):
            if item.name in self.widgets:
                self._duplicates.append(f"widget {item.name!r} is declared twice")
            self.widgets[item.name] = item
            return
        if item.name in self.data or item.name in self.events:
            self._duplicates.append(f"integration {item.name!r} is declared twice")
        if isinstance(item, DataIntegration):
            self.data[item.name] = item
        else:
            self.events[item.name] = item

    def data_handler(
        self,
        name: str,
        *,
        sample: Mapping[str, Any],
        triggers: tuple[str, ...] = ("ticket-created", "ticket-updated"),
        fields: Mapping[str, str] = EMPTY,
        method: str = "POST",
        content_type: str = JSON,
        title: str | None = None,
    ) -> Callable[[DataHandler], DataHandler]:
        """Declare a data integration answered by the decorated function."""

        def register(handler: DataHandler) -> DataHandler:
            self.add(
                DataIntegration(
                    name=name,
                    handler=handler,
                    sample=sample,
                    triggers=triggers,
                    method=method,
                    content_type=content_type,
                    fields=fields,
                    title=title,
                )
            )
            return handler

        return register

    def event_handler(
        self,
        name: str,
        *,
        triggers: tuple[str, ...],
        fields: Mapping[str, str] = EMPTY,
        content_type: str = JSON,
        title: str | None = None,
    ) -> Callable[[EventHandler], EventHandler]:
        """Declare an event integration handled by the decorated function (in the worker)."""

        def register(handler: EventHandler) -> EventHandler:
            self.add(
                EventIntegration(
                    name=name,
                    handler=handler,
                    triggers=triggers,
                    content_type=content_type,
                    fields=fields,
                    title=title,
                )
            )
            return handler

        return register

    def widget(
        self,
        name: str,
        *,
        integration: str,
        template: Node,
        context: str = "ticket",
        order: int = 0,
    ) -> Widget:
        """Declare a sidebar widget showing ``integration``'s answer."""
        declared = Widget(
            name=name, integration=integration, template=template, context=context, order=order
        )
        self.add(declared)
        return declared

    def problems(self) -> list[str]:
        """Everything wrong with the declarations (empty: fine), widget contract included."""
        from .checks import problems  # the checks need the classes defined here

        return list(self._duplicates) + problems(self)
