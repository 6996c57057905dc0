"""Ticket pages: list, ticket view with sidebar widgets, agent buttons, CSRF, escaping."""

from __future__ import annotations

import re
from typing import Any

import pytest

WIDGET_TEMPLATE = {
    "type": "wrapper",
    "widgets": [
        {
            "type": "card",
            "title": "Loyalty",
            "path": "",
            "widgets": [
                {"type": "text", "title": "Tier", "path": "tier"},
                {"type": "list", "path": "orders", "widgets": [{"type": "text", "path": "id"}]},
            ],
        }
    ],
}


@pytest.fixture
def setup(flow: Any, stub_app: Any) -> dict[str, Any]:
    """An integration calling the stub app on every event, a ticket widget, a ticket id."""
    token = flow.tokens()["access_token"]
    triggers = {"ticket-updated": True, "ticket-message-created": True}
    hook = {
        "name": "Loyalty app",
        "type": "http",
        "http": {
            "url": stub_app.url + "/ok?t={{ticket.id}}",
            "method": "GET",
            "triggers": triggers,
        },
    }
    integration = flow.api("POST", "/integrations", token, json=hook).json()
    widget = {"type": "http", "context": "ticket", "integration_id": integration["id"]}
    widget["template"] = WIDGET_TEMPLATE
    assert flow.api("POST", "/widgets", token, json=widget).status_code == 201
    ticket_id = flow.world.accounts["acme"].tickets[0]["id"]
    return {"token": token, "integration": integration, "ticket_id": ticket_id}


def csrf(page: str) -> str:
    """The CSRF token of a ticket page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_ticket_list(flow: Any) -> None:
    """GET /{account}/tickets lists tickets with links to their pages; unknown account 404."""
    page = flow.http.get("/acme/tickets")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    newest = max(flow.world.accounts["acme"].tickets, key=lambda t: t["updated_datetime"])
    assert f'href="/acme/tickets/{newest["id"]}">{newest["subject"]}</a>' in page.text
    assert page.text.count("<tr data-ticket-id=") == 100
    assert flow.http.get("/nobody/tickets").status_code == 404


def test_ticket_page_shows_the_ticket_and_an_empty_sidebar(flow: Any, setup: Any) -> None:
    """Before any event the widget says there is no answer yet."""
    ticket = flow.world.accounts["acme"].tickets[0]
    page = flow.http.get(f"/acme/tickets/{ticket['id']}").text
    assert ticket["subject"] in page and ticket["customer"]["email"] in page
    assert "No answer from this integration yet." in page and "Loyalty app" in page
    assert flow.http.get("/acme/tickets/1").status_code == 404


def test_refresh_fires_ticket_updated_and_fills_the_widget(
    flow: Any, setup: Any, stub_app: Any, control: Any
) -> None:
    """The refresh button fires ticket-updated; the answer is rendered in the sidebar."""
    stub_app.answer = {"tier": "gold", "orders": [{"id": "A-1"}, {"id": "A-2"}]}
    url = f"/acme/tickets/{setup['ticket_id']}"
    token = csrf(flow.http.get(url).text)
    posted = flow.http.post(url + "/refresh", data={"csrf_token": token})
    assert posted.status_code == 303 and posted.headers["location"] == url + "?wait=1"
    page = flow.http.get(posted.headers["location"]).text
    assert '<span class="label">Tier</span> <span class="value">gold</span>' in page
    assert 'data-path="orders.1.id"' in page
    assert [r["trigger"] for r in control.deliveries("acme")] == ["ticket-updated"]


def test_message_and_status_buttons_fire_events(flow: Any, setup: Any, control: Any) -> None:
    """Sending a message and closing/reopening act on the ticket and fire their triggers."""
    url = f"/acme/tickets/{setup['ticket_id']}"
    token = csrf(flow.http.get(url).text)
    flow.http.post(url + "/messages", data={"csrf_token": token, "body_text": "On its way!"})
    for status in ("closed", "open"):
        flow.http.post(url + "/status", data={"csrf_token": token, "status": status})
    control.wait_for_deliveries(5)
    page = flow.http.get(url).text
    assert "On its way!" in page and 'id="close"' in page
    ticket = flow.world.accounts["acme"].ticket(setup["ticket_id"])
    assert ticket is not None and ticket["status"] == "open"
    assert sorted(r["trigger"] for r in control.deliveries("acme")) == [
        "ticket-message-created",
        "ticket-updated",
        "ticket-updated",
    ]


def test_posts_without_the_csrf_token_are_refused(flow: Any, setup: Any, control: Any) -> None:
    """A form post from another origin (no or a wrong token) is a 403 and changes nothing."""
    url = f"/acme/tickets/{setup['ticket_id']}"
    for data in ({}, {"csrf_token": "guess"}):
        assert flow.http.post(url + "/refresh", data=data).status_code == 403
        response = flow.http.post(url + "/status", data={**data, "status": "closed"})
        assert response.status_code == 403
    control.wait_for_deliveries(5)
    assert control.deliveries("acme") == []


def test_answers_from_apps_are_shown_as_text(
    flow: Any, setup: Any, stub_app: Any, control: Any
) -> None:
    """An answer containing <script> is escaped on the page, not executed."""
    stub_app.answer = {"tier": "<script>alert('x')</script>", "orders": []}
    control.fire_event("acme", setup["ticket_id"], "ticket-updated")
    control.wait_for_deliveries(5)
    page = flow.http.get(f"/acme/tickets/{setup['ticket_id']}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_customer_widgets_render_under_the_customer(
    flow: Any, setup: Any, stub_app: Any, control: Any
) -> None:
    """A customer-context widget of the same integration shows in the customer section."""
    stub_app.answer = {"tier": "silver", "orders": []}
    widget = {
        "type": "http",
        "context": "customer",
        "integration_id": setup["integration"]["id"],
        "template": WIDGET_TEMPLATE,
    }
    assert flow.api("POST", "/widgets", setup["token"], json=widget).status_code == 201
    control.fire_event("acme", setup["ticket_id"], "ticket-updated")
    control.wait_for_deliveries(5)
    page = flow.http.get(f"/acme/tickets/{setup['ticket_id']}").text
    customer_part = page.split('id="customer-widgets"')[1]
    assert '<span class="value">silver</span>' in customer_part


def test_call_on_view_fills_the_sidebar_when_the_page_opens(
    flow: Any, setup: Any, stub_app: Any, control: Any
) -> None:
    """With integration_call_on_view, opening a ticket calls the widgets' integrations first."""
    stub_app.answer = {"tier": "bronze", "orders": []}
    other = {
        "name": "No widget",
        "type": "http",
        "http": {
            "url": stub_app.url + "/ok",
            "method": "GET",
            "triggers": {"ticket-updated": True},
        },
    }
    assert flow.api("POST", "/integrations", setup["token"], json=other).status_code == 201
    url = f"/acme/tickets/{setup['ticket_id']}"
    assert "No answer from this integration yet." in flow.http.get(url).text  # off by default
    control.configure(integration_call_on_view=True)
    page = flow.http.get(url).text
    assert '<span class="value">bronze</span>' in page
    calls = control.deliveries("acme")
    assert [(c["trigger"], c["integration_id"]) for c in calls] == [
        ("ticket-viewed", setup["integration"]["id"])
    ]
