"""Issue 2: the install flow end to end, Flask test client ↔ sandbox over real HTTP.

The attacks on it (hostile accounts, bad states, iss mix-ups, escaping, secrets in logs and in
the database, two accounts in one browser) moved to tests/security/, one module per SEC item.
"""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import CLIENT_ID


def token_requests(sandbox: SandboxControl, account: str = "acme") -> int:
    return sandbox.count(account, "oauth.token")


def test_happy_path_lands_on_the_dashboard(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl, app: Flask
) -> None:
    """Install → consent → callback 303 → dashboard with live account data and tickets."""
    authorize = installer.start("acme")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{sandbox.base_url}/acme/oauth/authorize?")
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert "offline" in query["scope"][0].split()
    response = installer.finish(installer.consent(authorize))
    assert response.status_code == 303
    assert response.headers["Location"] == "/accounts/acme"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert token_requests(sandbox) == 1
    page = client.get("/accounts/acme")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Acme" in html
    assert "The app is installed" in html
    assert html.count("<tr>") >= 5  # header + latest tickets from the sandbox API
    installation = app.extensions["gorgias_appkit"].installation("acme")
    assert installation.status is InstallStatus.ACTIVE
    assert "offline" in installation.scopes


def test_expires_in_zero_uses_the_jwt_exp(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """Gorgias sends expires_in: 0; expiry comes from the JWT exp (24 h), not 'now'."""
    assert sandbox.config()["expires_in_mode"] == "zero"
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    installation = kit.installation("acme")
    left = (installation.expires_at - kit.clock.now()).total_seconds()
    assert 86400 - 120 < left <= 86400


def test_opaque_token_with_positive_expires_in(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """An opaque access token takes its expiry from a positive expires_in."""
    sandbox.configure(
        access_token_format="opaque", expires_in_mode="positive", access_token_ttl=3600
    )
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    left = (kit.installation("acme").expires_at - kit.clock.now()).total_seconds()
    assert 3600 - 120 < left <= 3600


def test_opaque_token_without_expiry_defaults_to_24_hours(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """No JWT and expires_in 0: the documented 24 h default applies."""
    sandbox.configure(access_token_format="opaque", expires_in_mode="zero")
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    left = (kit.installation("acme").expires_at - kit.clock.now()).total_seconds()
    assert 86400 - 120 < left <= 86400


def test_deny_shows_a_restart_page_and_requests_no_token(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """access_denied renders a clear page with a restart button; no token request is made."""
    callback = installer.consent(installer.start("acme"), decision="deny")
    assert callback.query["error"] == "access_denied"
    response = installer.finish(callback)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "cancelled" in html and "Restart the install" in html
    assert token_requests(sandbox) == 0


def test_install_without_account_asks_for_the_subdomain(client: FlaskClient) -> None:
    """No account parameter: a page where the merchant types their subdomain."""
    response = client.get("/oauth/install")
    assert response.status_code == 200
    assert 'name="address"' in response.get_data(as_text=True)


def test_reinstall_replaces_tokens(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """Installing twice keeps one row whose tokens are the new ones."""
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    first = kit.installation("acme").tokens.access_token
    response = installer.install("acme")
    assert response.status_code == 303
    second = kit.installation("acme")
    assert second.tokens.access_token != first
    assert [i.account for i in kit.installations()] == ["acme"]
    assert [e.event for e in kit.history("acme")][:2] == ["reinstalled", "installed"]


def test_dashboard_is_private_to_the_installing_browser(
    installer: InstallDriver, app: Flask
) -> None:
    """Another browser cannot read an account's dashboard by guessing its name."""
    installer.install("acme")
    stranger = app.test_client()
    response = stranger.get("/accounts/acme")
    assert response.status_code == 403


def test_healthz(client: FlaskClient) -> None:
    """The load balancer probe answers 200 with the database up."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
