"""The widget template tree rendered against a stored answer: paths, lists, escaping."""

from __future__ import annotations

import re
from typing import Any

from gorgias_sandbox.widgets_render import join, render_widget

ANSWER = {
    "customer": {"tier": "gold", "points": 1200},
    "orders": [
        {"id": "A-1", "total": 30, "lines": [{"sku": "mug"}, {"sku": "tea"}]},
        {"id": "A-2", "total": 12.5, "lines": []},
    ],
    "tags": ["vip", "eu"],
    "active": True,
}


def card(*children: dict[str, Any], path: str = "", title: str = "Loyalty") -> dict[str, Any]:
    """A wrapper holding one card."""
    card_node = {"type": "card", "title": title, "path": path, "widgets": list(children)}
    return {"type": "wrapper", "widgets": [card_node]}


def fields(html: str) -> dict[str, str]:
    """data-path -> text of every rendered field."""
    pattern = r'data-path="([^"]*)"><span class="label">[^<]*</span> <span class="value">([^<]*)<'
    return dict(re.findall(pattern, html))


def test_text_paths_are_relative_to_the_card() -> None:
    """A card's path is the base of its children's paths; an empty path is the parent."""
    html = render_widget(
        card(
            {"type": "text", "title": "Tier", "path": "tier"},
            {"type": "text", "title": "Points", "path": "points"},
            path="customer",
        ),
        ANSWER,
    )
    assert fields(html) == {"customer.tier": "gold", "customer.points": "1200"}
    assert '<section class="widget-card" data-path="customer"><h3>Loyalty</h3>' in html


def test_lists_render_children_per_item_and_nest() -> None:
    """A list's children are relative to each item; lists nest and scalars show as text."""
    html = render_widget(
        card(
            {
                "type": "list",
                "path": "orders",
                "widgets": [
                    {"type": "text", "title": "Order", "path": "id"},
                    {"type": "list", "path": "lines", "widgets": [{"type": "text", "path": "sku"}]},
                ],
            },
            {"type": "list", "title": "Tags", "path": "tags"},
        ),
        ANSWER,
    )
    assert fields(html) == {
        "orders.0.id": "A-1",
        "orders.0.lines.0.sku": "mug",
        "orders.0.lines.1.sku": "tea",
        "orders.1.id": "A-2",
    }
    assert '<li data-path="tags.0">vip</li><li data-path="tags.1">eu</li>' in html


def test_missing_values_and_other_types() -> None:
    """Missing paths are empty, a card over nothing says so, booleans and objects are text."""
    html = render_widget(
        {
            "type": "wrapper",
            "widgets": [
                card({"type": "boolean", "title": "Active", "path": "active"}),
                card({"type": "text", "path": "x"}, path="nowhere", title="Gone"),
                {"type": "text", "title": "Whole", "path": "customer"},
                {"type": "text", "title": "Missing", "path": "a.b.c"},
            ],
        },
        ANSWER,
    )
    assert fields(html) == {
        "active": "true",
        "customer": "{&#34;tier&#34;:&#34;gold&#34;,&#34;points&#34;:1200}",
        "a.b.c": "",
    }
    assert '<p class="empty">No data</p>' in html


def test_every_title_and_value_is_escaped() -> None:
    """Markup in answers or titles shows as text, never as HTML."""
    answer = {"name": "<script>alert(1)</script>", "items": ['<img src=x onerror="x()">']}
    template = card(
        {"type": "text", "title": "<b>Name</b>", "path": "name"},
        {"type": "list", "path": "items"},
        title='"><script>t()</script>',
    )
    html = render_widget(template, answer)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;Name&lt;/b&gt;" in html


def test_paths_compose() -> None:
    """join() composes parent and child paths, ignoring empty parts."""
    assert join("", "a") == "a" and join("a", "") == "a" and join("a", "b.c") == "a.b.c"


def test_runaway_templates_are_cut_off() -> None:
    """A template nested deeper than MAX_DEPTH stops rendering instead of recursing on."""
    node: dict[str, Any] = {"type": "text", "title": "Deep", "path": ""}
    for _ in range(50):
        node = {"type": "card", "title": "c", "path": "", "widgets": [node]}
    html = render_widget(node, {"x": 1})
    assert "Deep" not in html and html.count("<section") <= 21
