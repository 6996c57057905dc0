"""Issue 6: the reference app's merchant pages: dashboard, reconnect banner, disconnect."""

from __future__ import annotations

import re

import pytest
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
    assert answer.status_code == 303
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
    assert again.status_code == 303
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}


@pytest.mark.parametrize(
    "pasted",
    [
        " acme ",
        "acme.gorgias.com",
        "https://acme.gorgias.com/",
        "ACME.Gorgias.com",
        "https://acme.gorgias.com/app/tickets",
    ],
)
def test_the_install_form_reads_what_a_merchant_pastes(pasted: str, client: FlaskClient) -> None:
    """Issue 13: blanks trimmed, a Gorgias address gives its account; then the strict path."""
    response = client.get("/oauth/install", query_string={"address": pasted})
    assert response.status_code == 303
    assert response.headers["Location"] == "/oauth/install?account=acme"


@pytest.mark.parametrize(
    "pasted",
    [
        "acme.evil.com",
        "https://acme.gorgias.com.evil.com/",
        "a@acme.gorgias.com",
        "acme gorgias",
        "",
        "https://evil.com/?acme",
    ],
)
def test_the_install_form_still_refuses_anything_else(
    pasted: str, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """Issue 13 / SEC-01: normalising never lets another host through; nothing is sent."""
    before = sandbox.stats()["counters"]
    response = client.get("/oauth/install", query_string={"address": pasted})
    assert response.status_code == 400
    assert sandbox.stats()["counters"] == before


def test_the_install_page_shows_where_the_account_lives(client: FlaskClient) -> None:
    """Issue 13: the form shows the configured template (the sandbox here), not gorgias.com."""
    page = client.get("/oauth/install").get_data(as_text=True)
    assert "gorgias.com" not in page and "127.0.0.1" in page


@pytest.mark.parametrize(("method", "path", "code"), [("GET", "/nowhere", 404), ("PUT", "/", 405)])
def test_404_and_405_are_styled_pages_with_a_way_home(
    method: str, path: str, code: int, client: FlaskClient
) -> None:
    """Issue 13: the reference app's own page style, a link home, never werkzeug's bare page."""
    response = client.open(path, method=method)
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert 'href="/"' in html and "app.css" in html and "<title>" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_the_welcome_notice_never_greets_an_error_page(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """Issue 13: an install whose dashboard then fails shows the failure, not "Welcome!"."""
    sandbox.add_fault(path="/api/tickets", mode="status", status=500, count=-1)
    response = installer.install("acme")
    page = client.get(response.headers["Location"])
    assert page.status_code == 502
    assert "Welcome" not in page.get_data(as_text=True)
    sandbox.clear_faults()
    assert "Welcome" not in client.get("/accounts/acme").get_data(as_text=True)  # not later either
