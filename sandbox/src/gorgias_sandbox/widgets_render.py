"""Rendering a widget's template tree against an app's stored JSON answer, as the sidebar does.

Node types: ``wrapper`` (children in ``widgets``), ``card`` (``title``, ``path``, children),
``text`` (``title``, ``path``) and ``list`` (``path`` to a list; its children are rendered once
per item, relative to the item). Any other leaf type (``url``, ``email``, ``date``, ...) is
shown like ``text``. A node's ``path`` is relative to its parent's value: dotted keys and list
indexes (``order.lines.0.sku``); an empty or missing path means the parent's value itself.
Every title and value is HTML-escaped (answers and templates come from apps); ``data-path``
carries the composed path from the root of the answer, for tests and for debugging templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from .templating import lookup, to_text

MAX_DEPTH = 20
MAX_ITEMS = 100


def join(base: str, path: str) -> str:
    """Compose a child's path onto its parent's (empty parts vanish)."""
    return ".".join(part for part in (base, path) if part)


def render_widget(template: Mapping[str, Any], answer: Any) -> Markup:
    """The HTML of one widget for one stored answer."""
    return _node(template, answer, "", 0)


def _children(node: Mapping[str, Any], value: Any, path: str, depth: int) -> Markup:
    children = node.get("widgets") or []
    if not isinstance(children, list):
        return Markup("")
    return Markup("").join(
        _node(child, value, path, depth + 1) for child in children if isinstance(child, Mapping)
    )


def _node(node: Mapping[str, Any], parent: Any, base: str, depth: int) -> Markup:
    if depth > MAX_DEPTH:
        return Markup("")
    kind, raw_path = str(node.get("type") or "text"), node.get("path") or ""
    path = join(base, str(raw_path))
    value = lookup(parent, str(raw_path)) if raw_path else parent
    title = escape(to_text(node.get("title")))
    if kind == "wrapper":
        inner = _children(node, value, path, depth)
        return Markup('<div class="widget-wrapper">{}</div>').format(inner)
    if kind == "card":
        inner = _children(node, value, path, depth) if value is not None else Markup("")
        empty = Markup("") if value is not None else Markup('<p class="empty">No data</p>')
        return Markup(
            '<section class="widget-card" data-path="{}"><h3>{}</h3>{}{}</section>'
        ).format(path, title, inner, empty)
    if kind == "list":
        return _list(node, value, path, title, depth)
    return Markup(
        '<div class="widget-field" data-path="{}"><span class="label">{}</span> '
        '<span class="value">{}</span></div>'
    ).format(path, title, to_text(value))


def _list(node: Mapping[str, Any], value: Any, path: str, title: Markup, depth: int) -> Markup:
    items = value if isinstance(value, list) else []
    rows = []
    for index, item in enumerate(items[:MAX_ITEMS]):
        item_path = join(path, str(index))
        if node.get("widgets"):
            inner = _children(node, item, item_path, depth)
        else:
            inner = escape(to_text(item))
        rows.append(Markup('<li data-path="{}">{}</li>').format(item_path, inner))
    heading = Markup("<h4>{}</h4>").format(title) if title else Markup("")
    return Markup('<div class="widget-list" data-path="{}">{}<ul>{}</ul></div>').format(
        path, heading, Markup("").join(rows)
    )
