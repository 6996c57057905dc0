"""Issue 9 item 4: the admin login is throttled per address and per user name, across instances.

A brute-force loop gets 429 with ``Retry-After`` (a page, not a 500) once the address's window
is spent, before any password hash is computed, even for the right password; failures at one
user name from many addresses are capped too; concurrent hash checks are capped per process
(503 at once, not queued); the CSRF token changes at login. Counts live in the app's database
or Redis, so every worker and instance shares them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from gorgias_appkit.starter import create_app
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.web.operator import init_operator
from gorgias_appkit.web.throttle import get_throttle
from gorgias_sandbox import SandboxControl

from ..conftest import free_port
from ..conftest import kit_env
from ..integration.api_helpers import redis_url
from .support import build_app
from .support import kit_of

PASSWORD = "correct horse battery staple"
HASH = generate_password_hash(PASSWORD)
ADMIN = {"GORGIAS_ADMIN_USER": "ops", "GORGIAS_ADMIN_PASSWORD_HASH": HASH}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _browser(app: Flask, address: str = "203.0.113.7") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _attempt(client: FlaskClient, password: str, user: str = "ops", **headers: str) -> int:
    token = _csrf(client.get("/admin/login").get_data(as_text=True))
    form = {"csrf_token": token, "username": user, "password": password}
    return int(client.post("/admin/login", data=form, headers=headers).status_code)


def _running(config: dict[str, str]) -> Iterator[Flask]:
    app = create_app({**config, **ADMIN, "TESTING": True})
    yield app
    kit_of(app).close()


@pytest.fixture
def login_app(app_config: dict[str, str]) -> Iterator[Flask]:
    """The reference app with an operator login, at the default throttle settings."""
    yield from _running(app_config)


@pytest.fixture
def second_instance(app_config: dict[str, str]) -> Iterator[Flask]:
    """Another instance on the same database."""
    yield from _running(app_config)


def test_item4_brute_force_stops_at_the_address_limit(login_app: Flask) -> None:
    """Issue 9 item 4: 10 tries per 15 minutes; the 11th, right password or not, gets 429."""
    client = _browser(login_app)
    assert [_attempt(client, f"guess {n}") for n in range(10)] == [401] * 10
    token = _csrf(client.get("/admin/login").get_data(as_text=True))
    answer = client.post(
        "/admin/login", data={"csrf_token": token, "username": "ops", "password": PASSWORD}
    )
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 900
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Too many attempts" in answer.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # not logged in
    assert _attempt(_browser(login_app, "198.51.100.1"), PASSWORD) == 303  # another address


def test_item4_spoofed_forwarded_for_does_not_reset_the_count(login_app: Flask) -> None:
    """Issue 9 items 4, 9: without GORGIAS_PROXY_FIX, X-Forwarded-For is not the address."""
    client = _browser(login_app)
    statuses = [_attempt(client, "guess", **{"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(12)]
    assert statuses == [401] * 10 + [429] * 2


def test_item4_ipv6_neighbours_share_a_count(login_app: Flask) -> None:
    """Issue 9 item 4: addresses of one IPv6 /64 count as one client."""
    statuses = [
        _attempt(_browser(login_app, f"2001:db8:1:2::{n:x}"), "guess") for n in range(1, 12)
    ]
    assert statuses == [401] * 10 + [429]
    assert _attempt(_browser(login_app, "2001:db8:1:3::1"), "guess") == 401


def test_item4_failures_at_one_user_name_are_capped_across_addresses(
    app_config: dict[str, str],
) -> None:
    """Issue 9 item 4: 30 wrong passwords for "ops" from 30 addresses; then 429 from a 31st."""
    for app in _running({**app_config, "GORGIAS_LOGIN_USER_RATE": "30 per hour"}):
        statuses = [_attempt(_browser(app, f"192.0.2.{n}"), "guess") for n in range(30)]
        assert statuses == [401] * 30
        assert _attempt(_browser(app, "192.0.2.200"), PASSWORD) == 429
        assert _attempt(_browser(app, "192.0.2.201"), "guess", user="root") == 401


def test_item4_instances_share_the_count(login_app: Flask, second_instance: Flask) -> None:
    """Issue 9 item 4: five tries on each of two instances spend one address's window."""
    first, second = _browser(login_app), _browser(second_instance)
    assert [_attempt(first, "guess") for _ in range(5)] == [401] * 5
    assert [_attempt(second, "guess") for _ in range(5)] == [401] * 5
    assert _attempt(first, PASSWORD) == 429
    assert _attempt(second, PASSWORD) == 429


def test_item4_redis_holds_the_count_when_configured(
    sandbox: SandboxControl, sqlite_url: str, tmp_path: Path
) -> None:
    """Issue 9 item 4: with GORGIAS_REDIS_URL two apps on different databases share it."""
    url = redis_url()
    apps = []
    for folder in ("one", "two"):
        database = f"sqlite:///{tmp_path / folder}.sqlite3"
        env = kit_env(sandbox.base_url, database, GORGIAS_REDIS_URL=url, **ADMIN)
        apps.append(create_app({**env, "TESTING": True}))
    try:
        # A fresh key in the shared Redis, whatever earlier runs left there (counted per /64).
        address = f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}::1"
        assert [_attempt(_browser(apps[0], address), "guess") for _ in range(6)] == [401] * 6
        assert [_attempt(_browser(apps[1], address), "guess") for _ in range(4)] == [401] * 4
        assert _attempt(_browser(apps[1], address), PASSWORD) == 429
    finally:
        for app in apps:
            kit_of(app).close()


def test_item4_window_ends_and_counting_starts_again(
    sandbox: SandboxControl, sqlite_url: str, tmp_path: Path
) -> None:
    """Issue 9 item 4: after the window (15 minutes) the address may try again."""
    clock = FakeClock()
    app = build_app(kit_env(sandbox.base_url, sqlite_url, **ADMIN), tmp_path, clock=clock)
    init_operator(app)
    try:
        client = _browser(app)
        assert [_attempt(client, "guess") for _ in range(11)] == [401] * 10 + [429]
        clock.advance(899)
        assert _attempt(client, PASSWORD) == 429
        clock.advance(2)
        assert _attempt(client, PASSWORD) == 303
    finally:
        kit_of(app).close()


def test_item4_hash_checks_are_capped_per_process(app_config: dict[str, str]) -> None:
    """Issue 9 item 4: with every hash slot in use, a login answers 503 + Retry-After at once."""
    for app in _running({**app_config, "GORGIAS_LOGIN_CONCURRENCY": "1"}):
        client = _browser(app)
        with app.app_context():
            slot = get_throttle().hash_check()
        token = _csrf(client.get("/admin/login").get_data(as_text=True))
        form = {"csrf_token": token, "username": "ops", "password": PASSWORD}
        with slot:  # another request is checking a password right now
            busy = client.post("/admin/login", data=form)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert "busy" in busy.get_data(as_text=True)
        assert client.post("/admin/login", data=form).status_code == 303


def test_item4_unreachable_throttle_store_fails_closed(
    sandbox: SandboxControl, sqlite_url: str
) -> None:
    """Issue 9 item 4: a Redis that does not answer refuses logins (503), never lifts limits."""
    env = kit_env(
        sandbox.base_url, sqlite_url, GORGIAS_REDIS_URL=f"redis://127.0.0.1:{free_port()}"
    )
    for app in _running(env):
        client = _browser(app)
        token = _csrf(client.get("/admin/login").get_data(as_text=True))
        form = {"csrf_token": token, "username": "ops", "password": PASSWORD}
        answer = client.post("/admin/login", data=form)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"


def test_item4_csrf_token_is_rotated_at_login(login_app: Flask) -> None:
    """Issue 9 item 4: the login page's CSRF token is dead once the login succeeds."""
    client = _browser(login_app)
    before = _csrf(client.get("/admin/login").get_data(as_text=True))
    form = {"csrf_token": before, "username": "ops", "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 303
    after = _csrf(client.get("/admin/").get_data(as_text=True))
    assert after != before
    assert client.post("/admin/logout", data={"csrf_token": before}).status_code == 403
    assert client.post("/admin/logout", data={"csrf_token": after}).status_code == 303


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("o" * 5000, PASSWORD),
        ("ops", "p" * 5000),
        ("ops\r\nevent=admin_login", "x"),
        ("ÖPS", PASSWORD),
        ("", ""),
        ("ops\x00", PASSWORD),
    ],
    ids=["long-user", "long-password", "crlf-user", "unicode-user", "empty", "nul-user"],
)
def test_item4_hostile_login_fields_are_refused_plainly(
    login_app: Flask, user: str, password: str
) -> None:
    """Issue 9 item 4: odd user names and passwords get a 401 page, never a 500 or a login."""
    assert _attempt(_browser(login_app), password, user=user) == 401
