"""Issue 9 item 3: sessions end server-side, for every worker and instance sharing the database.

A browser's session is a record in the app's database keyed by a hash of the random id its
signed cookie carries; a saved copy of the cookie is worth nothing once the record is gone or no
longer holds the account: after a disconnect, after another browser reinstalls, after an admin
logout, after the idle or absolute lifetime. A secret-key rotation rolled out with
``GORGIAS_SECRET_KEY_FALLBACKS`` keeps sessions; one without them ends every session.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from gorgias_appkit.starter import create_app
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_appkit.web import viewable_accounts
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .support import build_app
from .support import kit_of

PASSWORD = "correct horse battery staple"
KEY_A, KEY_B = "a" * 40, "b" * 40


def _cookie(client: FlaskClient, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, value: str) -> FlaskClient:
    """A second browser holding a saved copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _running(config: dict[str, str]) -> Iterator[Flask]:
    app = create_app({**config, "TESTING": True})
    yield app
    kit_of(app).close()


@pytest.fixture
def second_instance(app_config: dict[str, str]) -> Iterator[Flask]:
    """Another instance of the reference app on the same database (another host, same env)."""
    yield from _running(app_config)


@pytest.fixture
def admin_app(app_config: dict[str, str]) -> Iterator[Flask]:
    """The reference app with an operator login."""
    yield from _running(
        {
            **app_config,
            "GORGIAS_ADMIN_USER": "ops",
            "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
        }
    )


def test_item3_saved_cookie_dies_at_disconnect_on_every_instance(
    installer: InstallDriver, client: FlaskClient, app: Flask, second_instance: Flask
) -> None:
    """Issue 9 item 3: after a disconnect, a saved cookie opens acme on no instance."""
    assert installer.install("acme").status_code == 303
    saved = _cookie(client)
    assert _replay(second_instance, saved).get("/accounts/acme").status_code == 200
    token = _csrf(client.get("/accounts/acme").get_data(as_text=True))
    assert client.post("/accounts/acme/disconnect", data={"csrf_token": token}).status_code == 303
    for instance in (app, second_instance):
        assert _replay(instance, saved).get("/accounts/acme").status_code == 403
    assert client.get("/accounts/acme").status_code == 403


def test_item3_operator_disconnect_ends_the_merchant_sessions(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """Issue 9 item 3: a disconnect from the CLI or /admin (``Kit.disconnect``) ends them too."""
    installer.install("acme")
    saved = _cookie(client)
    kit_of(app).disconnect("acme")
    assert _replay(app, saved).get("/accounts/acme").status_code == 403


def test_item3_reinstall_by_another_browser_ends_the_old_sessions(
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    second_instance: Flask,
    sandbox: SandboxControl,
) -> None:
    """Issue 9 item 3: B reinstalls acme; A's saved cookie shows no live tickets anywhere."""
    installer.install("acme")
    installer.install("globex")
    saved = _cookie(client)
    other = InstallDriver(second_instance.test_client())
    try:
        assert other.install("acme").status_code == 303
        assert other.app.get("/accounts/acme").status_code == 200
    finally:
        other.close()
    for instance in (app, second_instance):
        thief = _replay(instance, saved)
        assert thief.get("/accounts/acme").status_code == 403
        assert thief.get("/accounts/globex").status_code == 200  # only acme's grant ended
    assert client.get("/accounts/acme").status_code == 403


def test_item3_reinstalling_browser_gets_a_fresh_session(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """Issue 9 item 3, SEC-11: the reinstalling browser's previous cookie is ended, not kept."""
    installer.install("acme")
    before = _cookie(client)
    installer.install("acme")
    assert _cookie(client) != before
    assert client.get("/accounts/acme").status_code == 200
    assert _replay(app, before).get("/accounts/acme").status_code == 403


def test_item3_admin_cookie_dies_at_logout(admin_app: Flask, sandbox: SandboxControl) -> None:
    """Issue 9 item 3: after logout a saved admin cookie opens no /admin, /metrics or refresh."""
    merchant = InstallDriver(admin_app.test_client())
    merchant.install("acme")
    merchant.close()
    operator = admin_app.test_client()
    token = _csrf(operator.get("/admin/login").get_data(as_text=True))
    answer = operator.post(
        "/admin/login", data={"csrf_token": token, "username": "ops", "password": PASSWORD}
    )
    assert answer.status_code == 303
    saved = _cookie(operator)
    token = _csrf(operator.get("/admin/").get_data(as_text=True))
    assert _replay(admin_app, saved).get("/metrics").status_code == 200
    assert operator.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    thief = _replay(admin_app, saved)
    assert thief.get("/admin/").status_code == 302
    assert thief.get("/admin/accounts/acme").status_code == 302
    assert thief.get("/metrics").status_code == 401
    refreshed = thief.post("/admin/accounts/acme/refresh", data={"csrf_token": token})
    assert refreshed.status_code == 302 and refreshed.headers["Location"] == "/admin/login"
    assert sandbox.count("acme", "oauth.token") == 1  # the install's exchange only


@pytest.mark.parametrize("fallbacks", ["", KEY_A], ids=["no-fallback", "fallback"])
def test_item3_secret_key_rotation(
    fallbacks: str, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Issue 9 item 3: a cookie signed with the old key works while it is a fallback, else not."""
    old = create_app({**app_config, "GORGIAS_SECRET_KEY": KEY_A, "TESTING": True})
    browser = InstallDriver(old.test_client())
    try:
        assert browser.install("acme").status_code == 303
        saved = _cookie(browser.app)  # type: ignore[arg-type]
    finally:
        browser.close()
        kit_of(old).close()
    rotated = {"GORGIAS_SECRET_KEY": KEY_B, "GORGIAS_SECRET_KEY_FALLBACKS": fallbacks}
    for new in _running({**app_config, **rotated}):
        status = _replay(new, saved).get("/accounts/acme").status_code
        assert status == (200 if fallbacks else 403)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("short", "at least 32"), (f"{KEY_A},tiny", "#2")],
    ids=["short", "second-short"],
)
def test_item3_fallback_keys_are_validated(
    value: str, problem: str, app_config: dict[str, str]
) -> None:
    """Issue 9 item 3: every fallback key is 32+ characters, checked at start-up."""
    from gorgias_appkit import ConfigError

    with pytest.raises(ConfigError, match="GORGIAS_SECRET_KEY_FALLBACKS") as caught:
        create_app({**app_config, "GORGIAS_SECRET_KEY_FALLBACKS": value})
    assert problem in str(caught.value)
    assert KEY_A not in str(caught.value)


# -- lifetimes, on a partner app with a fake clock ---------------------------------------------
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_app(
    sandbox: SandboxControl, database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[Flask]:
    """A partner app (the kit's blueprint and one page listing this browser's accounts)."""
    env = kit_env(
        sandbox.base_url,
        database_url,
        GORGIAS_SESSION_IDLE_TIMEOUT="3600",
        GORGIAS_SESSION_LIFETIME="86400",
    )
    app = build_app(env, tmp_path, clock=clock)

    @app.get("/mine")
    def mine() -> str:
        return ",".join(viewable_accounts())

    yield app
    kit_of(app).close()


def test_item3_idle_session_expires(timed_app: Flask, clock: FakeClock) -> None:
    """Issue 9 item 3: a session unused for longer than the idle timeout is over."""
    browser = InstallDriver(timed_app.test_client())
    try:
        browser.install("acme")
        clock.advance(3000)
        assert browser.app.get("/mine").get_data(as_text=True) == "acme"
        clock.advance(3000)  # 3000 s since the last use: still within the idle timeout
        assert browser.app.get("/mine").get_data(as_text=True) == "acme"
        clock.advance(3601)
        assert browser.app.get("/mine").get_data(as_text=True) == ""
    finally:
        browser.close()


def test_item3_session_has_an_absolute_lifetime(timed_app: Flask, clock: FakeClock) -> None:
    """Issue 9 item 3: even a session in constant use ends after its absolute lifetime."""
    browser = InstallDriver(timed_app.test_client())
    try:
        browser.install("acme")
        for _ in range(24):
            clock.advance(3500)
            assert browser.app.get("/mine").get_data(as_text=True) == "acme"
        clock.advance(3500)  # 25 x 3500 s > 86400 s
        assert browser.app.get("/mine").get_data(as_text=True) == ""
    finally:
        browser.close()


def test_item3_expired_sessions_are_purged(timed_app: Flask, clock: FakeClock) -> None:
    """Issue 9 item 3: ``Kit.purge_expired`` deletes the records of sessions that are over."""
    kit = kit_of(timed_app)
    for account in ("acme", "globex"):
        browser = InstallDriver(timed_app.test_client())
        browser.install(account)
        browser.close()
    assert kit.sessions.count() == 2
    assert kit.purge_expired().sessions == 0
    clock.advance(3601)
    assert kit.purge_expired().sessions == 2
    assert kit.sessions.count() == 0


@pytest.mark.parametrize("fallbacks", ["", KEY_A], ids=["no-fallback", "fallback"])
def test_item3_integration_calls_survive_any_secret_key_rotation(
    fallbacks: str, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Issue 9 item 3 / issue 11: Gorgias' calls carry the installation's own stored key, which no
    secret-key rotation touches (with or without fallbacks): they keep working."""
    for old in _running({**app_config, "GORGIAS_SECRET_KEY": KEY_A}):
        browser = InstallDriver(old.test_client())
        assert browser.install("acme").status_code == 303
        browser.close()
    integration = next(
        i for i in sandbox.objects("acme")["integrations"] if "customer-tickets" in i["http"]["url"]
    )
    path = integration["http"]["url"].split("8000", 1)[1].split("?", 1)[0]
    rotated = {"GORGIAS_SECRET_KEY": KEY_B, "GORGIAS_SECRET_KEY_FALLBACKS": fallbacks}
    for new in _running({**app_config, **rotated}):
        answer = new.test_client().open(
            path, method=integration["http"]["method"], headers=integration["http"]["headers"]
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "payload",
    [
        {"sid": "A" * 43},
        {"sid": "' OR 1=1 --" + "A" * 32},
        {"sid": ["A" * 43]},
        {"sid": 12345},
        {"sid": "A" * 5000},
        {"accounts": ["acme"], "csrf": "x"},  # the cookie layout before issue 9
    ],
    ids=["unknown-id", "sql-quote", "list", "number", "long", "old-layout"],
)
def test_item3_odd_session_ids_grant_nothing(
    payload: dict[str, object], installer: InstallDriver, app: Flask
) -> None:
    """Issue 9 item 3: a signed cookie whose id is unknown or malformed opens nothing, no 500."""
    installer.install("acme")
    forged = app.session_interface.get_signing_serializer(app).dumps(payload)  # type: ignore[attr-defined]
    thief = _replay(app, forged)
    assert thief.get("/accounts/acme").status_code == 403
    assert thief.get("/").status_code == 200


def test_item3_unsigned_cookie_grants_nothing(installer: InstallDriver, app: Flask) -> None:
    """Issue 9 item 3: a cookie not signed with the app's keys is a fresh, empty session."""
    installer.install("acme")
    saved = _cookie(installer.app)  # type: ignore[arg-type]
    payload, _, signature = saved.rpartition(".")
    for value in ("garbage", f"{payload}.{signature[::-1]}", "." * 10):
        assert _replay(app, value).get("/accounts/acme").status_code == 403
