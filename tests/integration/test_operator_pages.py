"""Issue 6: the operator pages under /admin and /metrics, behind the operator's admin login."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from gorgias_appkit import ConfigError
from gorgias_appkit import Kit
from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env

PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "m" * 16 + "etrics-token-value"


def running_admin_app(config: dict[str, str]) -> Iterator[Flask]:
    app = create_app(
        {
            **config,
            "TESTING": True,
            "GORGIAS_ADMIN_USER": "ops",
            "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
            "GORGIAS_METRICS_TOKEN": METRICS_TOKEN,
        }
    )
    yield app
    app.extensions["gorgias_appkit"].close()


@pytest.fixture
def admin_app(app_config: dict[str, str]) -> Iterator[Flask]:
    """The reference app with an admin, on every database tier."""
    yield from running_admin_app(app_config)


@pytest.fixture
def sqlite_config(sandbox: SandboxControl, sqlite_url: str) -> dict[str, str]:
    """Settings for tests whose outcome does not depend on the database."""
    return kit_env(sandbox.base_url, sqlite_url)


@pytest.fixture
def login_app(sqlite_config: dict[str, str]) -> Iterator[Flask]:
    """The reference app with an admin, on SQLite only (login and access checks)."""
    yield from running_admin_app(sqlite_config)


@pytest.fixture
def merchant(admin_app: Flask, sandbox: SandboxControl) -> Iterator[InstallDriver]:
    actions = InstallDriver(admin_app.test_client())
    yield actions
    actions.close()


def kit_of(app: Flask) -> Kit:
    return app.extensions["gorgias_appkit"]  # type: ignore[no-any-return]


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, user: str = "ops", password: str = PASSWORD) -> str:
    """Log in and return the CSRF token of the new session (the login page's one is dead)."""
    token = csrf(client.get("/admin/login").get_data(as_text=True))
    answer = client.post(
        "/admin/login", data={"csrf_token": token, "username": user, "password": password}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    fresh = csrf(client.get("/admin/").get_data(as_text=True))
    assert fresh != token  # issue 9 item 4: the CSRF token is rotated at login
    return fresh


@pytest.mark.parametrize("path", ["/admin/", "/admin/login", "/admin/accounts/acme", "/metrics"])
def test_operator_pages_are_off_without_an_admin(sqlite_config: dict[str, str], path: str) -> None:
    """With no admin configured the pages do not exist (404)."""
    app = create_app({**sqlite_config, "TESTING": True})
    try:
        assert app.test_client().get(path).status_code == 404
    finally:
        app.extensions["gorgias_appkit"].close()


@pytest.mark.parametrize(
    "settings",
    [
        {"GORGIAS_ADMIN_USER": "ops"},
        {"GORGIAS_ADMIN_USER": "ops", "GORGIAS_ADMIN_PASSWORD_HASH": "a plain password"},
    ],
    ids=["user-without-hash", "plain-password"],
)
def test_admin_settings_are_checked_at_start_up(
    settings: dict[str, str], sqlite_config: dict[str, str]
) -> None:
    """A half or wrong admin configuration stops the app from starting."""
    with pytest.raises(ConfigError, match="GORGIAS_ADMIN"):
        create_app({**sqlite_config, **settings})


def test_pages_ask_for_the_admin_login(login_app: Flask) -> None:
    """Without a login every page redirects to /admin/login."""
    client = login_app.test_client()
    for path in ("/admin/", "/admin/accounts/acme"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"] == "/admin/login"
    refused = client.post("/admin/accounts/acme/refresh", data={})
    assert refused.status_code in (302, 403)  # the login, or the app-wide CSRF check, first


def test_login_refuses_wrong_credentials_and_forged_forms(login_app: Flask) -> None:
    """Wrong user or password: 401 with one generic message; no CSRF token: 403."""
    client = login_app.test_client()
    token = csrf(client.get("/admin/login").get_data(as_text=True))
    for user, password in (("ops", "wrong password"), ("root", PASSWORD)):
        answer = client.post(
            "/admin/login", data={"csrf_token": token, "username": user, "password": password}
        )
        assert answer.status_code == 401
        assert "Wrong user name or password" in answer.get_data(as_text=True)
    forged = login_app.test_client().post(
        "/admin/login", data={"username": "ops", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert client.get("/admin/").status_code == 302


def test_operator_sees_every_installation(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """Health, expiry, scopes, last refresh, last error and created objects per account."""
    merchant.install("acme")
    merchant.install("globex")
    sandbox.revoke_account("globex")
    operator = admin_app.test_client()
    token = login(operator)
    operator.post("/admin/accounts/globex/refresh", data={"csrf_token": token})
    page = operator.get("/admin/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    acme = html[html.index(">acme<") : html.index(">globex<")]
    assert "active" in acme and "UTC" in acme and "scopes" in acme and "never" in acme
    globex = html[html.index(">globex<") :]
    assert "uninstalled" in globex and "refresh token rejected" in globex
    assert "active: 1" in html and "uninstalled: 1" in html


def test_operator_detail_shows_history_ledger_and_no_token(
    admin_app: Flask, merchant: InstallDriver
) -> None:
    """One installation: its details, history, the objects created, and only a fingerprint."""
    merchant.install("acme")
    merchant.install("acme")
    operator = admin_app.test_client()
    login(operator)
    html = operator.get("/admin/accounts/acme").get_data(as_text=True)
    tokens = kit_of(admin_app).installation("acme").tokens
    assert "installed" in html and "reinstalled" in html
    assert html.count("still in the account") == 5
    assert "integrations" in html and "widgets" in html
    assert tokens.access_token.fingerprint() in html
    assert tokens.access_token.reveal() not in html and tokens.refresh_token.reveal() not in html
    assert operator.get("/admin/accounts/nobody").status_code == 404


def test_operator_refresh_needs_csrf_and_refreshes(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """The refresh action is refused without the CSRF token and forces a refresh with it."""
    merchant.install("acme")
    kit = kit_of(admin_app)
    before = kit.installation("acme").tokens.access_token
    operator = admin_app.test_client()
    token = login(operator)
    assert operator.post("/admin/accounts/acme/refresh", data={}).status_code == 403
    assert kit.installation("acme").tokens.access_token == before
    answer = operator.post(
        "/admin/accounts/acme/refresh", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Refresh done" in answer.get_data(as_text=True)
    assert kit.installation("acme").tokens.access_token != before
    assert sandbox.count("acme", "oauth.token") == 2


def test_operator_refresh_failure_is_reported_on_the_page(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """A refused refresh stays on the operator page with the reason, not a merchant page."""
    merchant.install("acme")
    sandbox.revoke_account("acme")
    operator = admin_app.test_client()
    token = login(operator)
    answer = operator.post(
        "/admin/accounts/acme/refresh", data={"csrf_token": token}, follow_redirects=True
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "refresh failed" in html and "uninstalled" in html
    assert "Restart the install" not in html


def test_operator_disconnect_removes_objects_and_revokes(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """Disconnect from the operator page leaves nothing in the account."""
    merchant.install("acme")
    operator = admin_app.test_client()
    token = login(operator)
    assert operator.post("/admin/accounts/acme/disconnect", data={}).status_code == 403
    answer = operator.post(
        "/admin/accounts/acme/disconnect", data={"csrf_token": token}, follow_redirects=True
    )
    html = answer.get_data(as_text=True)
    assert "Disconnect done" in html and "uninstalled" in html
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}
    assert [g["status"] for g in sandbox.grants("acme")] == ["revoked"]


def test_operator_disconnect_interrupted_shows_what_is_left(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """A stopped clean-up is reported and the install stays active for a second try."""
    merchant.install("acme")
    sandbox.add_fault(
        path="/api/widgets/*", method="DELETE", mode="status", status=503, retry_after=0, count=5
    )
    operator = admin_app.test_client()
    token = login(operator)
    html = operator.post(
        "/admin/accounts/acme/disconnect", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "disconnect failed" in html and "disconnect again to resume" in html
    assert kit_of(admin_app).installation("acme").status.value == "active"


def test_logout_ends_the_admin_login(login_app: Flask) -> None:
    """After logging out the pages ask for the login again."""
    operator = login_app.test_client()
    token = login(operator)
    assert operator.get("/admin/").status_code == 200
    assert operator.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert operator.get("/admin/").status_code == 302


# -- /metrics ------------------------------------------------------------------------------
def test_metrics_need_the_bearer_token_or_the_admin_login(login_app: Flask) -> None:
    """Anonymous and wrong-token scrapes get 401 with a Bearer challenge."""
    client = login_app.test_client()
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    login(client)
    assert client.get("/metrics").status_code == 200


def test_metrics_report_installations_by_health_and_counters(
    admin_app: Flask, merchant: InstallDriver, sandbox: SandboxControl
) -> None:
    """Prometheus text: health gauges from the database, ledger objects, and the counters."""
    merchant.install("acme")
    merchant.install("globex")
    sandbox.revoke_account("globex")
    kit = kit_of(admin_app)
    kit.refresh_now("acme")
    with pytest.raises(Exception, match="uninstalled"):
        kit.refresh_now("globex")
    answer = admin_app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = answer.get_data(as_text=True)
    assert "# TYPE gorgias_installations gauge" in text
    assert 'gorgias_installations{status="active"} 1' in text
    assert 'gorgias_installations{status="needs_reauth"} 0' in text
    assert 'gorgias_installations{status="uninstalled"} 1' in text
    assert 'gorgias_ledger_objects{kind="widgets"} 2' in text
    assert "# TYPE gorgias_refresh_total counter" in text
    assert 'gorgias_refresh_total{reason="invalid_grant",result="failed"}' in text
    assert 'gorgias_api_calls_total{account="acme",status="201"}' in text
    tokens = kit.installation("acme").tokens
    assert tokens.access_token.reveal() not in text
