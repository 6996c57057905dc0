"""The Gorgias objects a declaration becomes, where they call, and what identifies an event.

Every integration calls ``{GORGIAS_APP_URL}/gorgias/inbound/{account}/{name}`` (an event
integration adds ``/{trigger}``: one Gorgias integration per trigger, so the app knows which
one fired) with the installation's key in the ``X-Appkit-Key`` header. Its body carries the
declared fields plus two the kit owns, ``ticket_id`` (``{{ticket.id}}``) and
``ticket_updated`` (``{{ticket.updated_datetime}}``).

**The dedupe key.** Gorgias' calls are unsigned and carry no event id, and a call that timed
out is sent again identically. An event is therefore identified by what a retry repeats and a
new event changes: SHA-256 of (account, integration, trigger, ticket id, the ticket's
``updated_datetime``). Every ticket change moves ``updated_datetime``, so two real events on a
ticket never share a key, while a retry (same ticket state) always does. If Gorgias ever sends
an empty ``updated_datetime``, the whole canonical body stands in for it. Stdlib only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import quote

from ..core.account import Account
from ..core.secret import Secret
from .declarations import FORM
from .declarations import DataIntegration
from .declarations import EventIntegration
from .declarations import Integrations
from .declarations import Widget
from .declarations import canonical_trigger

KEY_HEADER = "X-Appkit-Key"
PATH_PREFIX = "/gorgias/inbound"
KIT_FIELDS = {"ticket_id": "{{ticket.id}}", "ticket_updated": "{{ticket.updated_datetime}}"}


@dataclass(frozen=True, slots=True)
class Planned:
    """One object to exist in an account: its ledger name and how to build its payload."""

    kind: str  # the API collection: "integrations" or "widgets"
    ledger_name: str
    declaration: DataIntegration | EventIntegration | Widget
    trigger: str | None = None


def plan(declared: Integrations) -> list[Planned]:
    """Every object the declarations ask for, integrations first (widgets need their ids)."""
    planned = [Planned("integrations", f"integration:{d.name}", d) for d in declared.data.values()]
    for event in declared.events.values():
        for trigger in event.triggers:
            name = canonical_trigger(trigger) or trigger
            planned.append(Planned("integrations", f"integration:{event.name}:{name}", event, name))
    planned += [Planned("widgets", f"widget:{w.name}", w) for w in declared.widgets.values()]
    return planned


def integration_path(account: str, name: str, trigger: str | None = None) -> str:
    """The path Gorgias calls for one integration (and trigger) of ``account``."""
    path = f"{PATH_PREFIX}/{account}/{name}"
    return f"{path}/{trigger}" if trigger else path


def integration_payload(
    item: Planned, *, account: Account, app_url: str, key: Secret
) -> dict[str, Any]:
    """The ``POST /api/integrations`` body of a planned integration."""
    declared = item.declaration
    assert not isinstance(declared, Widget)  # noqa: S101 - plan() pairs kinds and declarations
    fields = {**declared.fields, **KIT_FIELDS}
    url = app_url + integration_path(account, declared.name, item.trigger)
    title = declared.title or declared.name
    if isinstance(declared, DataIntegration):
        method, triggers = declared.method, declared.triggers
    else:
        method, triggers, title = "POST", (item.trigger or "",), f"{title} ({item.trigger})"
    http: dict[str, Any] = {
        "url": url,
        "method": method,
        "headers": {KEY_HEADER: key.reveal()},
        "request_content_type": declared.content_type,
        "response_content_type": "application/json",
        "triggers": {t: True for t in (canonical_trigger(t) or t for t in triggers)},
        "form": {},
    }
    if method == "GET":  # no body: the fields travel in the query string
        http["url"] = url + "?" + "&".join(f"{quote(k)}={v}" for k, v in fields.items())
    else:
        http["form"] = fields
    return {
        "name": title,
        "type": "http",
        "description": "Added by the app; removed when the app is disconnected.",
        "http": http,
    }


def widget_payload(widget: Widget, *, integration_id: object) -> dict[str, Any]:
    """The ``POST /api/widgets`` body of a declared widget."""
    return {
        "type": "http",
        "context": widget.context,
        "integration_id": integration_id,
        "order": widget.order,
        "template": widget.template.to_json(),
    }


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body of an integration call as a dict (JSON object or urlencoded form).

    Raises ``ValueError`` for anything else, which the view answers with a 400.
    """
    if not raw:
        return {}
    if content_type.split(";")[0].strip().lower() == FORM:
        text = raw.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def dedupe_key(account: str, integration: str, trigger: str, body: Mapping[str, Any]) -> str:
    """The identity of an event (see the module docstring)."""
    updated = str(body.get("ticket_updated") or "")
    if not updated:
        updated = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    parts = (account, integration, trigger, str(body.get("ticket_id") or ""), updated)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
