"""Issue 2: the install flow end to end, Flask test client ↔ sandbox over real HTTP."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit.sandbox import SandboxControl

from ..conftest import CLIENT_ID
from ..conftest import InstallActions


def token_requests(sandbox: SandboxControl, account: str = "acme") -> int:
    return sandbox.count(account, "oauth.token")


def test_happy_path_lands_on_the_dashboard(
    installer: InstallActions, client: FlaskClient, sandbox: SandboxControl, app: Flask
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
    installer: InstallActions, app: Flask, sandbox: SandboxControl
) -> None:
    """Gorgias sends expires_in: 0; expiry comes from the JWT exp (24 h), not 'now'."""
    assert sandbox.config()["expires_in_mode"] == "zero"
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    installation = kit.installation("acme")
    left = (installation.expires_at - kit.clock.now()).total_seconds()
    assert 86400 - 120 < left <= 86400


def test_opaque_token_with_positive_expires_in(
    installer: InstallActions, app: Flask, sandbox: SandboxControl
) -> None:
    """An opaque access token takes its expiry from a positive expires_in."""
    sandbox.configure(access_token_format="opaque", expires_in_mode="positive",
                      access_token_ttl=3600)
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    left = (kit.installation("acme").expires_at - kit.clock.now()).total_seconds()
    assert 3600 - 120 < left <= 3600


def test_opaque_token_without_expiry_defaults_to_24_hours(
    installer: InstallActions, app: Flask, sandbox: SandboxControl
) -> None:
    """No JWT and expires_in 0: the documented 24 h default applies."""
    sandbox.configure(access_token_format="opaque", expires_in_mode="zero")
    installer.install("acme")
    kit = app.extensions["gorgias_appkit"]
    left = (kit.installation("acme").expires_at - kit.clock.now()).total_seconds()
    assert 86400 - 120 < left <= 86400


def test_deny_shows_a_restart_page_and_requests_no_token(
    installer: InstallActions, sandbox: SandboxControl
) -> None:
    """access_denied renders a clear page with a restart button; no token request is made."""
    callback = installer.consent(installer.start("acme"), decision="deny")
    assert callback.query["error"] == "access_denied"
    response = installer.finish(callback)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "cancelled" in html and "Restart the install" in html
    assert token_requests(sandbox) == 0


def test_error_description_is_escaped(installer: InstallActions, client: FlaskClient) -> None:
    """SEC-13: an attacker-controlled error_description is shown escaped."""
    authorize = installer.start("acme")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    response = client.get(
        "/oauth/callback",
        query_string={"state": state, "error": "server_error",
                      "error_description": "<script>alert(1)</script>"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "case", ["missing", "unknown", "replayed", "foreign_browser", "cookie_deleted"]
)
def test_state_failures_offer_a_restart_and_request_no_token(
    case: str, installer: InstallActions, client: FlaskClient, app: Flask,
    sandbox: SandboxControl,
) -> None:
    """SEC-03: every bad state gives a restart page and the token endpoint is not called."""
    callback = installer.consent(installer.start("acme"))
    query = dict(callback.query)
    expected_tokens = 0
    if case == "missing":
        query.pop("state")
    elif case == "unknown":
        query["state"] = "x" * 43
    elif case == "replayed":
        assert installer.finish(callback).status_code == 303
        expected_tokens = 1
    elif case == "foreign_browser":
        client = app.test_client()  # another browser: no install cookie
    elif case == "cookie_deleted":
        client.delete_cookie("gorgias_install")
    response = client.get("/oauth/callback", query_string=query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "expired or was already used" in html and "Restart the install" in html
    assert token_requests(sandbox) == expected_tokens


def test_expired_state_is_refused(
    installer: InstallActions, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-03: a state older than its TTL is refused without a token request."""
    from datetime import timedelta

    from sqlalchemy import update

    from gorgias_appkit.store.schema import install_states

    callback = installer.consent(installer.start("acme"))
    kit = app.extensions["gorgias_appkit"]
    with kit.engine.begin() as conn:  # age the stored state, as the clock would
        conn.execute(update(install_states).values(
            expires_at=kit.clock.now() - timedelta(seconds=1)))
    response = installer.finish(callback)
    assert response.status_code == 400
    assert token_requests(sandbox) == 0


def test_iss_mismatch_is_refused_before_the_token_request(
    installer: InstallActions, sandbox: SandboxControl
) -> None:
    """SEC-05: a callback whose iss is another server's is refused; no token request."""
    callback = installer.consent(installer.start("acme"))
    query = {**callback.query, "iss": "http://127.0.0.1:4000/evil", "account": "evil"}
    response = installer.client.get("/oauth/callback", query_string=query)
    assert response.status_code == 400
    assert "issuer_mismatch" in response.get_data(as_text=True)
    assert token_requests(sandbox) == 0


def test_matching_iss_is_accepted(installer: InstallActions, sandbox: SandboxControl) -> None:
    """RFC 9207: when the sandbox sends iss, the matching value passes."""
    sandbox.configure(send_iss=True)
    callback = installer.consent(installer.start("acme"))
    assert callback.query["iss"] == f"{sandbox.base_url}/acme"
    assert installer.finish(callback).status_code == 303


HOSTILE = [
    "evil.com/x?", "a@evil.com", "acme.gorgias.com.evil.com", "acme\r\nX-A: 1", "",
    "a" * 64, "\u0430cme", "acme:443", "-acme", "127.0.0.1", "acme%00", " acme",
]


@pytest.mark.parametrize("account", HOSTILE)
def test_hostile_account_gets_400_and_no_outbound_request(
    account: str, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """SEC-01: a hostile account value gets a 400 page, no redirect, no request anywhere."""
    response = client.get("/oauth/install", query_string={"account": account})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "not a Gorgias subdomain" in response.get_data(as_text=True)
    counters = sandbox.stats()["counters"]
    assert sum(sum(c.values()) for c in counters.values()) == 0


def test_install_without_account_asks_for_the_subdomain(client: FlaskClient) -> None:
    """No account parameter: a page where the merchant types their subdomain."""
    response = client.get("/oauth/install")
    assert response.status_code == 200
    assert 'name="account"' in response.get_data(as_text=True)


def test_reinstall_replaces_tokens(
    installer: InstallActions, app: Flask, sandbox: SandboxControl
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


def test_two_accounts_keep_their_own_tokens(
    installer: InstallActions, app: Flask, client: FlaskClient
) -> None:
    """SEC-18: each account's row holds its own tokens, checked by decrypting both."""
    installer.install("acme")
    installer.install("globex")
    kit = app.extensions["gorgias_appkit"]
    acme, globex = kit.installation("acme"), kit.installation("globex")
    assert acme.tokens.access_token != globex.tokens.access_token
    assert client.get("/accounts/acme").status_code == 200
    assert "Globex" in client.get("/accounts/globex").get_data(as_text=True)


def test_dashboard_is_private_to_the_installing_browser(
    installer: InstallActions, app: Flask
) -> None:
    """Another browser cannot read an account's dashboard by guessing its name."""
    installer.install("acme")
    stranger = app.test_client()
    response = stranger.get("/accounts/acme")
    assert response.status_code == 403


def test_tokens_never_reach_logs_or_the_database_file(
    installer: InstallActions, app: Flask, sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture, sqlite_url: str,
) -> None:
    """SEC-13/14: after an install at DEBUG no token or secret appears in logs or DB bytes."""
    with caplog.at_level(logging.DEBUG):
        installer.install("acme")
        installer.client.get("/accounts/acme")
    grant = sandbox.grants("acme")[0]
    secrets_ = [t for t in _token_values(grant) if t]
    assert secrets_, "the sandbox reports the issued tokens"
    secrets_.append(app.extensions["gorgias_appkit"].settings.client_secret.reveal())
    # The sandbox's authorization server (Authlib) runs in this process only because it is the
    # test peer; its own debug lines are not the app's logs.
    app_lines = "\n".join(
        r.getMessage() for r in caplog.records
        if not r.name.startswith(("authlib", "gorgias_appkit.sandbox"))
    )
    assert "HTTP Request" in app_lines  # the capture really holds the app's traffic
    for value in secrets_:
        assert value not in app_lines
    url = app.extensions["gorgias_appkit"].settings.database_url
    if url.startswith("sqlite:///"):
        raw = b"".join(p.read_bytes() for p in Path(url[10:]).parent.glob("kit.sqlite3*"))
        for value in secrets_:
            assert value.encode() not in raw


def _token_values(grant: dict) -> list[str]:
    text = repr(grant)
    return re.findall(r"'(?:access_token|refresh_token|token|value)': '([^']{20,})'", text)


def test_healthz(client: FlaskClient) -> None:
    """The load balancer probe answers 200 with the database up."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
