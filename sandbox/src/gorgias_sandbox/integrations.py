"""What Gorgias sends when an HTTP integration fires: the request built from integration + event.

* URL: ``http.url`` rendered with the event context (values percent-encoded);
* method: ``http.method``; headers: ``http.headers`` verbatim (the app's only proof that the
  call comes from Gorgias: calls are not signed), plus ``User-Agent``, ``Accept`` and, with a
  body, ``Content-Type``, which the sandbox sets itself;
* body, only for POST, PUT and PATCH: ``http.form`` with each string value rendered, encoded as
  ``http.request_content_type`` (JSON object, or ``application/x-www-form-urlencoded``). With
  an empty ``form`` the sandbox sends ``{"ticket": {...}}`` as JSON (an assumption: Gorgias
  documents no default body); for ``ticket-assignment-updated`` and ``ticket-status-updated``
  that ticket is the short form (id, status, assignees, dates). GET and DELETE send no body.

The event context is ``{"ticket": <the ticket, with "messages">}`` at the moment of the event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .templating import render, to_text
from .triggers import EXCLUSIVE

USER_AGENT = "Gorgias-Sandbox/0.1 (HTTP integration)"
_SHORT_FIELDS = (
    "id",
    "uri",
    "status",
    "assignee_user",
    "assignee_team",
    "updated_datetime",
    "closed_datetime",
)
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Call:
    """One HTTP request to an app, ready to send (and to re-send identically)."""

    integration_id: int
    ticket_id: int
    trigger: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    app_header_names: tuple[str, ...] = field(default=())

    def masked_headers(self) -> dict[str, str]:
        """The app's headers with every value hidden (never echo an app's key)."""
        return dict.fromkeys(self.app_header_names, "***")


def event_context(ticket: Mapping[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The variables templates can use for an event on ``ticket``."""
    return {"ticket": dict(ticket, messages=list(messages))}


def build_call(integration: Mapping[str, Any], context: Mapping[str, Any], trigger: str) -> Call:
    """The request ``integration`` makes for ``trigger`` with ``context``."""
    http = integration["http"]
    method = str(http.get("method", "GET")).upper()
    app_headers = {
        str(k): str(v)
        for k, v in (http.get("headers") or {}).items()
        if str(k).lower() not in ("content-type", "content-length", "host")
    }
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **app_headers}
    body, content_type = _body(http, context, trigger, method)
    if body is not None:
        headers["Content-Type"] = content_type
    return Call(
        integration_id=int(integration["id"]),
        ticket_id=int(context["ticket"]["id"]),
        trigger=trigger,
        method=method,
        url=render(str(http["url"]), context, url=True),
        headers=headers,
        body=body,
        app_header_names=tuple(app_headers),
    )


def _body(
    http: Mapping[str, Any], context: Mapping[str, Any], trigger: str, method: str
) -> tuple[bytes | None, str]:
    if method not in ("POST", "PUT", "PATCH"):
        return None, ""
    form = http.get("form") or {}
    if not isinstance(form, Mapping) or not form:
        ticket = context["ticket"]
        if trigger in EXCLUSIVE:
            ticket = {k: ticket.get(k) for k in _SHORT_FIELDS}
        return json.dumps({"ticket": ticket}).encode(), "application/json"
    values = {str(k): render(v, context) if isinstance(v, str) else v for k, v in form.items()}
    if http.get("request_content_type") == _FORM:
        return urlencode({k: to_text(v) for k, v in values.items()}).encode(), _FORM
    return json.dumps(values).encode(), "application/json"
