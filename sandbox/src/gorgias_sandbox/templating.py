"""Gorgias-style ``{{variable}}`` templates in HTTP-integration URLs and form values.

A variable is a dotted path into the event context, e.g. ``{{ticket.id}}``,
``{{ticket.customer.email}}``, ``{{ticket.messages[0].body_text}}`` (``.0`` works too). An
unknown path renders as the empty string; ``None`` as empty, booleans as ``true``/``false``,
objects and lists as compact JSON. In a URL every substituted value is percent-encoded (the
template's own characters are left alone). Filters and logic (``{% if %}``) are not supported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)\s*\}\}")
_STEP = re.compile(r"[A-Za-z0-9_]+")
_MISSING = object()


def lookup(context: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``context``, or ``None`` when any step is missing."""
    value = context
    for step in _STEP.findall(path):
        if isinstance(value, Mapping):
            value = value.get(step, _MISSING)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            value = _MISSING
        if value is _MISSING:
            return None
    return value


def to_text(value: Any) -> str:
    """How a value is written into a template."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(template: str, context: Mapping[str, Any], *, url: bool = False) -> str:
    """Substitute every ``{{path}}`` in ``template``; percent-encode the values if ``url``."""

    def substitute(match: re.Match[str]) -> str:
        text = to_text(lookup(context, match.group(1)))
        return quote(text, safe="") if url else text

    return _VARIABLE.sub(substitute, template)
