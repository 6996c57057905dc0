"""The widget contract: every ``path`` a widget reads exists in its handler's sample answer.

Gorgias renders a widget by following each node's ``path`` into the JSON the integration last
answered; a path that is not there shows an empty field, silently. The kit checks, at start-up
and in ``doctor``, every path of every declared widget against the sample answer the data
integration declares, composing paths the way Gorgias does (a child's path is relative to its
parent's value; a list's children are relative to each item, so the sample's list needs one
item). Stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from .declarations import DataIntegration
    from .declarations import Node
    from .declarations import Widget

_MISSING = object()


def lookup(value: Any, path: str) -> Any:
    """Follow a dotted path (keys and list indexes) into ``value``; ``_MISSING`` if absent."""
    for step in path.split("."):
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def widget_problems(widget: Widget, source: DataIntegration) -> list[str]:
    """Every path of ``widget`` missing from ``source``'s sample, in one sentence each."""
    found: list[str] = []
    _walk(widget.template, source.sample, "", widget, source, found)
    return found


def _walk(
    node: Node, value: Any, base: str, widget: Widget, source: DataIntegration, found: list[str]
) -> None:
    here = value if not node.path else lookup(value, node.path)
    path = ".".join(p for p in (base, node.path) if p)
    if here is _MISSING:
        found.append(
            f"widget {widget.name!r}: {node.type} {node.title or ''!r} reads {path!r}, which "
            f"is not in the sample answer of integration {source.name!r}"
        )
        return
    if node.type != "list":
        for child in node.children:
            _walk(child, here, path, widget, source, found)
        return
    if not isinstance(here, list):
        found.append(
            f"widget {widget.name!r}: list {node.title or ''!r} reads {path!r}, which is not a "
            f"list in the sample answer of integration {source.name!r}"
        )
    elif node.children and not here:
        found.append(
            f"widget {widget.name!r}: the sample list at {path!r} is empty; give it one item so "
            "the fields of its items can be checked"
        )
    elif node.children:
        for child in node.children:
            _walk(child, here[0], f"{path}.0", widget, source, found)
