"""SEC-10: a CSRF token on every state-changing request; cookies SameSite=Lax.

The callback itself is protected by state, PKCE and nonce (SEC-03/04/06). The browser-tier
comparison of ``Strict`` and ``Lax`` cookies is not run here (no browser in this tier): the
unit of it checked here is that every cookie the app sets is ``Lax``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_appkit.web import csrf_exempt
from gorgias_sandbox import SandboxControl

from ..conftest import APP_URL
from ..conftest import kit_env
from .support import build_app
from .support import kit_of
from .support import set_cookies

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """CSRF lives in the browser session; one database tier is enough."""
    return sqlite_url


def _token(client: FlaskClient, account: str = "acme") -> str:
    page = client.get(f"/accounts/{account}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_every_state_changing_route_refuses_a_request_without_token(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """SEC-10: each POST/PUT/PATCH/DELETE route of the app answers 403 without the token.

    The only exceptions are the routes Gorgias calls (marked ``csrf_exempt``): no browser and
    no cookie reach them, and without the installation's key they answer 401 (issue 11).
    """
    installer.install("acme")
    checked, keyed = [], []
    for rule in app.url_map.iter_rules():
        exempt = getattr(app.view_functions[rule.endpoint], "_gorgias_csrf_exempt", False)
        for method in sorted(set(rule.methods or ()) & set(UNSAFE)):
            url = re.sub(r"<int:[^>]+>", "1", rule.rule)
            url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "acme", url)
            response = client.open(url, method=method, data={"x": "1"})
            expected = 401 if exempt else 403
            assert response.status_code == expected, (method, url, response.status_code)
            (keyed if exempt else checked).append(f"{method} {rule.rule}")
    assert "POST /accounts/<account>/disconnect" in checked
    assert "POST /gorgias/inbound/<account>/<name>/<trigger>" in keyed
    assert "POST /admin/events/<int:event_id>/replay" in checked


@pytest.mark.parametrize(
    "case", ["missing", "empty", "wrong", "other_session", "cross_origin", "cross_site_fetch"]
)
def test_disconnect_without_a_valid_token_changes_nothing(
    case: str,
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    sandbox: SandboxControl,
) -> None:
    """SEC-10: a cross-site POST to disconnect gets 403 and the installation stays active."""
    installer.install("acme")
    token = _token(client)
    form: dict[str, str] = {"csrf_token": token}
    headers: dict[str, str] = {}
    if case == "missing":
        form = {}
    elif case == "empty":
        form = {"csrf_token": ""}
    elif case == "wrong":
        form = {"csrf_token": token[:-2] + "xx"}
    elif case == "other_session":
        stranger = app.test_client()
        stranger.get("/")
        installer_b = InstallDriver(stranger)
        installer_b.install("globex")
        form = {"csrf_token": _token(stranger, "globex")}
        installer_b.close()
    elif case == "cross_origin":
        headers = {"Origin": "https://evil.example"}
    elif case == "cross_site_fetch":
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": "null"}
    response = client.post("/accounts/acme/disconnect", data=form, headers=headers)
    assert response.status_code == 403
    assert "This form has expired" in response.get_data(as_text=True)
    assert kit_of(app).installation("acme").status is InstallStatus.ACTIVE
    assert sandbox.count("acme", "oauth.revoke") == 0


@pytest.mark.parametrize(
    "headers",
    [{"Origin": APP_URL}, {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, {}],
    ids=["same-origin", "origin-null-under-no-referrer", "no-origin"],
)
def test_disconnect_with_the_token_works(
    headers: dict[str, str], installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """SEC-10: the same-origin form with its token disconnects (Chromium sends Origin: null)."""
    installer.install("acme")
    response = client.post(
        "/accounts/acme/disconnect", data={"csrf_token": _token(client)}, headers=headers
    )
    assert response.status_code == 303
    assert kit_of(app).installation("acme").status is InstallStatus.UNINSTALLED


def test_token_in_a_header_is_accepted_for_scripts(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """SEC-10: ``X-CSRF-Token`` works like the form field (fetch() callers)."""
    installer.install("acme")
    token = _token(client)
    response = client.post("/accounts/acme/disconnect", headers={"X-CSRF-Token": token})
    assert response.status_code == 303


def test_every_cookie_is_samesite_lax(installer: InstallDriver, client: FlaskClient) -> None:
    """SEC-10: Lax (not Strict, which drops the cookie on Gorgias' redirect back, nor None)."""
    responses = [client.get("/oauth/install?account=acme")]
    callback = installer.consent(responses[0].headers["Location"])
    responses.append(installer.finish(callback))
    responses.append(client.get("/accounts/acme"))
    cookies = set_cookies(responses)
    assert len(cookies) >= 2
    assert all("SameSite=Lax" in c for c in cookies), cookies


def test_a_partner_post_route_is_protected_unless_marked_exempt(
    sandbox: SandboxControl, sqlite_url: str, tmp_path: Path
) -> None:
    """SEC-10: the check covers the partner's own routes too; csrf_exempt is an explicit opt-out."""
    app = build_app(kit_env(sandbox.base_url, sqlite_url), tmp_path)
    app.add_url_rule("/settings", "settings", lambda: "saved", methods=["POST"])
    app.add_url_rule("/hook", "hook", csrf_exempt(lambda: "ok"), methods=["POST"])
    try:
        client = app.test_client()
        assert client.post("/settings", data={"x": "1"}).status_code == 403
        assert client.post("/hook", data={"x": "1"}).status_code == 200
    finally:
        kit_of(app).close()
