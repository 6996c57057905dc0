"""What is wrong with a set of declarations, every problem in one sentence. Stdlib only.

Names (they become URL segments and ledger names), triggers (Gorgias' seven, either spelling;
a data integration cannot mix the exclusive ones with the others), methods, content types, field
names (two are the kit's own), widget kinds and contexts, and the widget contract
(:mod:`.contract`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .contract import widget_problems
from .declarations import CLASSIC_TRIGGERS
from .declarations import EXCLUSIVE_TRIGGERS
from .declarations import FORM
from .declarations import JSON
from .declarations import RESERVED_FIELDS
from .declarations import TRIGGERS
from .declarations import DataIntegration
from .declarations import Declaration
from .declarations import Integrations
from .declarations import Widget
from .declarations import canonical_trigger

_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def problems(declared: Integrations) -> list[str]:
    """Every problem of ``declared`` (duplicates are noted when declaring)."""
    found: list[str] = []
    integrations: list[Declaration] = [*declared.data.values(), *declared.events.values()]
    for item in integrations:
        found += _integration_problems(item)
    for widget in declared.widgets.values():
        found += _widget_shape_problems(widget, declared)
        source = declared.data.get(widget.integration)
        if source is not None:
            found += widget_problems(widget, source)
    return found


def _integration_problems(declared: Declaration) -> list[str]:
    where = f"integration {declared.name!r}"
    found = []
    if not _NAME.fullmatch(declared.name):
        found.append(f"{where}: the name must be lowercase letters, digits and '-' (≤ 40)")
    triggers = [canonical_trigger(t) for t in declared.triggers]
    unknown = [t for t, c in zip(declared.triggers, triggers, strict=True) if c is None]
    if unknown:
        found.append(
            f"{where}: unknown trigger(s) {', '.join(unknown)} (known: {', '.join(TRIGGERS)})"
        )
    if not declared.triggers:
        found.append(f"{where}: declare at least one trigger")
    on = {t for t in triggers if t}
    if isinstance(declared, DataIntegration):
        if on & set(EXCLUSIVE_TRIGGERS) and on & set(CLASSIC_TRIGGERS):
            found.append(
                f"{where}: Gorgias does not combine ticket-assignment-updated or "
                "ticket-status-updated with the other triggers in one integration"
            )
        if declared.method not in ("GET", "POST", "PUT"):
            found.append(f"{where}: method must be GET, POST or PUT")
        if not isinstance(declared.sample, Mapping):
            found.append(f"{where}: the sample answer must be a JSON object")
    if declared.content_type not in (JSON, FORM):
        found.append(f"{where}: content_type must be {JSON} or {FORM}")
    for name, value in declared.fields.items():
        if not _FIELD.fullmatch(name) or name in RESERVED_FIELDS:
            found.append(f"{where}: field {name!r} is not allowed (reserved: {RESERVED_FIELDS})")
        if not isinstance(value, str):
            found.append(f"{where}: field {name!r} must be a template string")
    return found


def _widget_shape_problems(widget: Widget, declared: Integrations) -> list[str]:
    where = f"widget {widget.name!r}"
    found = []
    if not _NAME.fullmatch(widget.name):
        found.append(f"{where}: the name must be lowercase letters, digits and '-' (≤ 40)")
    if widget.context not in ("ticket", "customer"):
        found.append(f"{where}: context must be 'ticket' or 'customer'")
    if widget.integration not in declared.data:
        kind = "an event integration" if widget.integration in declared.events else "undeclared"
        found.append(
            f"{where}: shows integration {widget.integration!r}, which is {kind}; "
            "a widget shows a data integration's answer"
        )
    if widget.template.type != "wrapper":
        found.append(f"{where}: the template's root must be a wrapper")
    return found
