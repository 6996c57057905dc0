"""Issue 6: the reference app's merchant pages: dashboard, reconnect banner, disconnect."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_dashboard_lists_what_the_app_added(installer: InstallDriver, client: FlaskClient) -> None:
    """The merchant sees the objects the app created, and that disconnect removes them."""
    installer.install("acme")
    html = client.get("/accounts/acme").get_data(as_text=True)
    assert "HTTP integration" in html and "Ticket sidebar widget" in html
    assert "removes all of these" in html


def test_lost_access_shows_the_reconnect_banner(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl, app: Flask
) -> None:
    """A 401 and a refused refresh turn the dashboard into a reconnect banner, not an error."""
    installer.install("acme")
    sandbox.configure(revoke_access_tokens_on_revoke=True)
    sandbox.revoke_account("acme")
    page = client.get("/accounts/acme")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="reconnect-banner"' in html and "lost access to acme" in html
    assert 'href="/oauth/install?account=acme"' in html
    assert app.extensions["gorgias_appkit"].installation("acme").status is (
        InstallStatus.UNINSTALLED  # inferred: removed in Gorgias (issue 11)
    )
    assert "removed in Gorgias" in html
    home = client.get("/").get_data(as_text=True)
    assert "The app lost access to <strong>acme</strong>" in home


def test_reconnecting_from_the_banner_restores_the_dashboard(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """Following the banner's link through consent brings the live dashboard back."""
    installer.install("acme")
    sandbox.configure(revoke_access_tokens_on_revoke=True)
    sandbox.revoke_account("acme")
    client.get("/accounts/acme")
    assert installer.install("acme").status_code == 303
    html = client.get("/accounts/acme").get_data(as_text=True)
    assert "reconnect-banner" not in html and 'id="tickets"' in html
    assert len(sandbox.objects("acme")["widgets"]) == 1


def test_dashboard_disconnect_leaves_nothing_behind(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """The merchant's disconnect button removes the app's objects, then revokes."""
    installer.install("acme")
    token = csrf(client.get("/accounts/acme").get_data(as_text=True))
    answer = client.post("/accounts/acme/disconnect", data={"csrf_token": token})
    assert answer.status_code == 200
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}
    assert [g["status"] for g in sandbox.grants("acme")] == ["revoked"]


def test_an_interrupted_disconnect_is_a_clear_retryable_page(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """A clean-up stopped by Gorgias errors is a 502 page, and the install is still there."""
    installer.install("acme")
    sandbox.add_fault(
        path="/api/widgets/*", method="DELETE", mode="status", status=503, retry_after=0, count=5
    )
    token = csrf(client.get("/accounts/acme").get_data(as_text=True))
    answer = client.post("/accounts/acme/disconnect", data={"csrf_token": token})
    assert answer.status_code == 502
    assert client.get("/accounts/acme").status_code == 200
    again = client.post("/accounts/acme/disconnect", data={"csrf_token": token})
    assert again.status_code == 200
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}
