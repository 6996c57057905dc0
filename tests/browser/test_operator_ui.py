"""Browser tier: the operator pages, from the admin login to refresh and disconnect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import ADMIN_PASSWORD
from .conftest import ADMIN_USER
from .conftest import Live
from .conftest import submit
from .test_merchant_ui import install


def test_operator_logs_in_refreshes_and_disconnects(
    page: Any, browser: Any, live: Live, screenshots: Path
) -> None:
    """Login, the installations list, one installation, refresh and disconnect."""
    install(page, live, "acme")
    install(page, live, "globex")
    operator = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    operator.set_default_timeout(10_000)
    try:
        operator.goto(f"{live.url}/admin/")
        operator.wait_for_url(f"{live.url}/admin/login")
        operator.screenshot(path=str(screenshots / "operator-login.png"), full_page=True)
        operator.fill("#username", ADMIN_USER)
        operator.fill("#password", "wrong password")
        submit(operator, "#login")
        assert "Wrong user name or password" in operator.locator("[role=alert]").inner_text()
        operator.fill("#username", ADMIN_USER)
        operator.fill("#password", ADMIN_PASSWORD)
        submit(operator, "#login")
        operator.wait_for_url(f"{live.url}/admin/")
        rows = operator.locator("#installations tbody tr")
        assert rows.count() == 2
        operator.screenshot(path=str(screenshots / "operator-list.png"), full_page=True)

        operator.click("text=acme")
        before = live.kit.installation("acme").tokens.access_token
        submit(operator, "#refresh")
        assert operator.locator(".notice.ok").inner_text() == "Refresh done."
        assert live.kit.installation("acme").tokens.access_token != before
        assert operator.locator("#ledger tbody tr").count() == 5
        operator.screenshot(path=str(screenshots / "operator-detail.png"), full_page=True)

        submit(operator, "#disconnect")
        assert operator.locator(".notice.ok").inner_text() == "Disconnect done."
        assert operator.locator("#health").inner_text() == "uninstalled"
        assert live.sandbox.objects("acme") == {"integrations": [], "widgets": []}
        assert len(live.sandbox.objects("globex")["widgets"]) == 1
    finally:
        operator.context.close()
