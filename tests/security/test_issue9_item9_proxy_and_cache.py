"""Issue 9 item 9: trust only the forwarded headers the operator names; pages are never cached.

With ``GORGIAS_PROXY_FIX=1`` a client's ``X-Forwarded-Prefix: //evil.example`` used to turn the
admin login redirect and form action into ``//evil.example/...``. Only ``for`` and ``proto``
are trusted unless ``GORGIAS_PROXY_HEADERS`` lists more; a listed prefix must be a plain path.
Every response but static files carries ``Cache-Control: no-store``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from gorgias_appkit import ConfigError
from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .support import kit_of

PASSWORD = "correct horse battery staple"
ADMIN = {
    "GORGIAS_ADMIN_USER": "ops",
    "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
    "GORGIAS_METRICS_TOKEN": "m" * 32,
}
EVIL_PREFIXES = ["//evil.example", "/\\evil.example", "/a/../b", "/ok%2Fx", "/a b", "https://e.x"]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Headers are a matter of the web layer; one database tier is enough."""
    return sqlite_url


def _app(config: dict[str, str], **extra: str) -> Iterator[Flask]:
    app = create_app({**config, **ADMIN, **extra, "TESTING": True})
    yield app
    kit_of(app).close()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@pytest.mark.parametrize("prefix", EVIL_PREFIXES)
def test_item9_forwarded_prefix_is_ignored_by_default(
    app_config: dict[str, str], prefix: str
) -> None:
    """Issue 9 item 9: behind one proxy, a client's X-Forwarded-Prefix changes no URL."""
    for app in _app(app_config, GORGIAS_PROXY_FIX="1"):
        client = app.test_client()
        headers = {"X-Forwarded-Prefix": prefix, "X-Forwarded-Host": "evil.example"}
        redirect = client.get("/admin/", headers=headers)
        assert redirect.status_code == 302
        assert redirect.headers["Location"] == "/admin/login"
        page = client.get("/admin/login", headers=headers).get_data(as_text=True)
        assert 'action="/admin/login"' in page and "evil" not in page


def test_item9_listed_prefix_is_used(app_config: dict[str, str]) -> None:
    """Issue 9 item 9: with ``prefix`` listed, the proxy's plain-path prefix is honoured."""
    for app in _app(app_config, GORGIAS_PROXY_FIX="1", GORGIAS_PROXY_HEADERS="for,proto,prefix"):
        answer = app.test_client().get("/admin/", headers={"X-Forwarded-Prefix": "/gorgias-app"})
        assert answer.headers["Location"] == "/gorgias-app/admin/login"


@pytest.mark.parametrize("prefix", EVIL_PREFIXES)
def test_item9_listed_prefix_must_be_a_plain_path(app_config: dict[str, str], prefix: str) -> None:
    """Issue 9 item 9: even when trusted, a prefix that is not a plain path is refused (400)."""
    for app in _app(app_config, GORGIAS_PROXY_FIX="1", GORGIAS_PROXY_HEADERS="for,proto,prefix"):
        answer = app.test_client().get("/admin/", headers={"X-Forwarded-Prefix": prefix})
        assert answer.status_code == 400
        assert "Location" not in answer.headers


def test_item9_proxy_settings_fail_with_every_other_problem(app_config: dict[str, str]) -> None:
    """Issue 9 items 5, 9: a bad GORGIAS_PROXY_FIX is listed in the same ConfigError as the rest."""
    bad = {
        **app_config,
        "GORGIAS_CLIENT_ID": "",
        "GORGIAS_PROXY_FIX": "yes",
        "GORGIAS_PROXY_HEADERS": "for,cookie",
        "GORGIAS_METRICS_TOKEN": "short",
    }
    with pytest.raises(ConfigError) as caught:
        create_app(bad)
    problems = " | ".join(caught.value.problems)
    for name in (
        "GORGIAS_CLIENT_ID",
        "GORGIAS_PROXY_FIX",
        "GORGIAS_PROXY_HEADERS",
        "GORGIAS_METRICS_TOKEN",
    ):
        assert name in problems


# -- Cache-Control on every route of the reference app -----------------------------------------
def _concrete(rule: str) -> str:
    rule = rule.replace("<path:filename>", "app.css")
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "acme", rule)


def test_item9_every_route_of_the_reference_app_is_no_store(
    app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Issue 9 item 9: every page, form, failure page and action answer says ``no-store``."""
    for app in _app(app_config):
        browser = InstallDriver(app.test_client())
        client: FlaskClient = browser.app  # type: ignore[assignment]
        answers = {"GET /oauth/callback (install)": browser.install("acme")}
        browser.close()
        answers["POST /admin/login (wrong)"] = client.post(
            "/admin/login",
            data={
                "csrf_token": _csrf(client.get("/admin/login").get_data(as_text=True)),
                "username": "ops",
                "password": "wrong",
            },
        )
        client.post(
            "/admin/login",
            data={
                "csrf_token": _csrf(client.get("/admin/login").get_data(as_text=True)),
                "username": "ops",
                "password": PASSWORD,
            },
        )
        token = _csrf(client.get("/admin/").get_data(as_text=True))
        seen = set()
        for rule in app.url_map.iter_rules():
            if "GET" in (rule.methods or ()):
                seen.add(f"GET {rule.rule}")
                answers[f"GET {rule.rule}"] = client.get(_concrete(rule.rule))
        for path in (
            "/admin/accounts/acme/refresh",
            "/accounts/acme/disconnect",
            "/admin/accounts/acme/disconnect",
            "/admin/login",
            "/admin/logout",
            "/admin/events/acme/replay",
            "/gorgias/inbound/acme/acme",  # Gorgias' calls (no key here: a JSON 401)
            "/gorgias/inbound/acme/acme/acme",
        ):
            seen.add(f"POST {path}")
            answers[f"POST {path}"] = client.post(path, data={"csrf_token": token})
        answers["GET bad account"] = client.get("/oauth/install?account=evil.example")
        answers["GET callback without state"] = client.get("/oauth/callback?code=x")
        answers["GET not yours"] = client.get("/accounts/globex")
        answers["GET not found"] = client.get("/no/such/page")
        unsafe = {
            rule.rule
            for rule in app.url_map.iter_rules()
            if set(rule.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}
        }
        assert {_concrete(r) for r in unsafe} <= {s.split(" ", 1)[1] for s in seen}
        for name, answer in answers.items():
            cache = answer.headers.get("Cache-Control", "")
            if ("/static/" in name or name.endswith("static>")) and answer.status_code == 200:
                assert "no-store" not in cache, name  # stylesheets may be cached
            else:
                assert "no-store" in cache, (name, answer.status_code, cache)
        assert answers["GET /accounts/<account>"].status_code == 200
        assert answers["GET /"].status_code == 200
