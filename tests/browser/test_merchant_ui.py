"""Browser tier: what a merchant sees, from the subdomain form to disconnect, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Live
from .conftest import submit


def install(page: Any, live: Live, account: str = "acme", shots: Path | None = None) -> None:
    """Subdomain form → the sandbox's consent page → approve → the account's dashboard."""
    page.goto(f"{live.url}/")
    page.fill("#account", account)
    page.click("#install")
    page.wait_for_selector("#approve")
    if shots:
        page.screenshot(path=str(shots / "consent.png"), full_page=True)
    page.select_option("select[name=user_id]", index=0)
    page.click("#approve")
    page.wait_for_url(f"{live.url}/accounts/{account}")


def test_install_through_the_consent_page_lands_on_the_dashboard(
    page: Any, live: Live, screenshots: Path
) -> None:
    """The merchant types a subdomain, approves on Gorgias and sees live tickets."""
    page.goto(f"{live.url}/")
    page.screenshot(path=str(screenshots / "home.png"), full_page=True)
    install(page, live, "acme", shots=screenshots)
    assert page.locator(".notice.ok").inner_text() == "The app is installed. Welcome!"
    assert "Acme" in page.locator("h1").inner_text()
    assert page.locator("#tickets tbody tr").count() >= 3
    assert page.locator("#objects li").count() == 5
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    objects = live.sandbox.objects("acme")
    assert len(objects["integrations"]) == 4 and len(objects["widgets"]) == 1


def test_after_the_install_a_sandbox_ticket_shows_the_apps_card(
    page: Any, live: Live, screenshots: Path
) -> None:
    """Issue 11: an agent opening a ticket sees the app's sidebar card, filled in by the app."""
    live.sandbox.configure(integration_call_on_view=True)  # as `make demo` runs it
    install(page, live, "acme")
    api = live.kit.client_for("acme")
    ticket = next(t for t in api.latest_tickets(20) if t.get("customer"))
    page.goto(f"{live.sandbox.base_url}/acme/tickets/{ticket['id']}")
    card = page.locator("#ticket-widgets .widget-card")
    assert card.locator("h3").inner_text() == "Customer's other tickets"
    customer = card.locator('[data-path="customer"] .value').inner_text()
    assert customer == ticket["customer"]["email"]
    others = api.get("/tickets", {"customer_id": ticket["customer"]["id"], "limit": 11})["data"]
    shown = card.locator('.widget-list li[data-path^="tickets."]').count()
    assert shown == len([t for t in others if t["id"] != ticket["id"]][:10])
    page.locator("#sidebar").screenshot(path=str(screenshots / "sidebar.png"))


def test_the_install_page_asks_for_the_subdomain(page: Any, live: Live, screenshots: Path) -> None:
    """/oauth/install without an account is the subdomain entry page, handing off to Gorgias."""
    page.goto(f"{live.url}/oauth/install")
    page.screenshot(path=str(screenshots / "install.png"), full_page=True)
    page.fill("#account", "globex")
    page.locator("form button[type=submit]").click()
    page.wait_for_selector("#approve")
    assert "globex" in page.url and "/oauth/authorize" in page.url


def test_deny_shows_the_failure_page_with_a_restart_button(
    page: Any, live: Live, screenshots: Path
) -> None:
    """Declining on Gorgias shows what happened and a way to start again; nothing is stored."""
    page.goto(f"{live.url}/")
    page.fill("#account", "acme")
    page.click("#install")
    page.click("#deny")
    page.wait_for_selector("text=The install was cancelled")
    page.screenshot(path=str(screenshots / "denied.png"), full_page=True)
    page.click("text=Restart the install")
    page.wait_for_selector("#account")
    assert live.kit.installation("acme") is None
    assert live.sandbox.objects("acme")["widgets"] == []


def test_reconnect_after_the_merchant_uninstalled(page: Any, live: Live, screenshots: Path) -> None:
    """When Gorgias stops accepting the app, a banner leads back through consent."""
    install(page, live, "acme")
    live.sandbox.configure(revoke_access_tokens_on_revoke=True)
    live.sandbox.revoke_account("acme")  # the merchant uninstalled in Gorgias
    page.reload()
    banner = page.locator("#reconnect-banner")
    assert "lost access to acme" in banner.inner_text()
    page.screenshot(path=str(screenshots / "reconnect.png"), full_page=True)
    page.click("#reconnect")
    page.select_option("select[name=user_id]", index=0)
    page.click("#approve")
    page.wait_for_url(f"{live.url}/accounts/acme")
    # Gorgias had dropped the grant (an inferred uninstall): this is a new install (issue 11).
    assert page.locator(".notice.ok").inner_text() == "The app is installed. Welcome!"
    assert page.locator("#reconnect-banner").count() == 0
    assert page.locator("#health").inner_text() == "active"
    assert len(live.sandbox.objects("acme")["widgets"]) == 1


def test_disconnect_removes_the_created_widget(page: Any, live: Live, screenshots: Path) -> None:
    """The disconnect button leaves nothing in the merchant's account and revokes access."""
    install(page, live, "acme")
    assert len(live.sandbox.objects("acme")["widgets"]) == 1
    submit(page, "#disconnect")
    page.wait_for_selector("text=acme is disconnected")
    page.screenshot(path=str(screenshots / "disconnected.png"), full_page=True)
    assert live.sandbox.objects("acme") == {"integrations": [], "widgets": []}
    assert [g["status"] for g in live.sandbox.grants("acme")] == ["revoked"]
