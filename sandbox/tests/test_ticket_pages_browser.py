"""The ticket page in Chromium: an app's answer fills the sidebar card; its markup stays text."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEMPLATE = {
    "type": "wrapper",
    "widgets": [
        {
            "type": "card",
            "title": "Loyalty",
            "path": "",
            "widgets": [
                {"type": "text", "title": "Tier", "path": "customer.tier"},
                {"type": "list", "path": "orders", "widgets": [{"type": "text", "path": "id"}]},
            ],
        }
    ],
}


def _unavailable(why: str) -> None:
    required = os.environ.get("TEST_REQUIRE_TIERS", "").split(",")
    if "browser" in (t.strip() for t in required):
        pytest.fail(f"required test tier 'browser' is unavailable: {why}")
    pytest.skip(f"browser tier skipped: {why}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (skipped when either is missing)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab with short timeouts."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def ticket_url(live: Any, live_flow: Any, stub_app: Any) -> str:
    """An integration calling the stub app, a ticket widget, and a new ticket's page URL."""
    token = live_flow.tokens()["access_token"]
    hook = {
        "name": "Loyalty app",
        "type": "http",
        "http": {"url": stub_app.url + "/ok?ticket={{ticket.id}}", "method": "GET"},
    }
    integration = live_flow.api("POST", "/integrations", token, json=hook).json()
    widget = {"type": "http", "context": "ticket", "integration_id": integration["id"]}
    assert live_flow.api(
        "POST", "/widgets", token, json={**widget, "template": TEMPLATE}
    ).is_success
    message = {"channel": "api", "via": "api", "from_agent": False, "body_text": "Hi"}
    stub_app.answer = {"customer": {"tier": "gold"}, "orders": [{"id": "A-1"}, {"id": "A-2"}]}
    created = live_flow.api(
        "POST", "/tickets", token, json={"subject": "Late", "messages": [message]}
    )
    live.control.wait_for_deliveries(5)
    return f"{live.url}/acme/tickets/{created.json()['id']}"


def test_sidebar_card_shows_the_answer_and_refreshes(
    page: Any, ticket_url: str, stub_app: Any
) -> None:
    """The card renders the ticket-created answer; "Refresh sidebar" fetches a new one."""
    page.goto(ticket_url)
    card = page.locator("#ticket-widgets .widget-card")
    assert card.locator("h3").inner_text() == "Loyalty"
    tier = card.locator('[data-path="customer.tier"] .value')
    assert tier.inner_text() == "gold"
    assert card.locator('[data-path="orders.1.id"] .value').inner_text() == "A-2"
    stub_app.answer = {"customer": {"tier": "platinum"}, "orders": []}
    page.click("#refresh")
    page.wait_for_url("**?wait=1")
    assert tier.inner_text() == "platinum"
    assert card.locator('[data-path="orders.0.id"]').count() == 0


def test_markup_in_an_answer_shows_as_text(
    page: Any, ticket_url: str, stub_app: Any, live: Any
) -> None:
    """A <script> in an app's answer is displayed, not run."""
    evil = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    stub_app.answer = {"customer": {"tier": evil}, "orders": []}
    page.goto(ticket_url)
    page.click("#refresh")
    page.wait_for_url("**?wait=1")
    shown = page.locator('#ticket-widgets [data-path="customer.tier"] .value').inner_text()
    assert shown == evil
    assert page.evaluate("window.pwned") is None
