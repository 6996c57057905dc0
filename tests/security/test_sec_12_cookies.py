"""SEC-12: cookie flags on every Set-Cookie, and no token in Flask's readable session cookie."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import CLIENT_SECRET
from ..conftest import kit_env
from .support import consent
from .support import decode_session
from .support import kit_of
from .support import set_cookies

HTTPS = "https://app.example"
HTTPS_CLIENT, HTTPS_SECRET = "https-client", "https-secret-with:odd/chars%"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Cookies are a browser matter; one database tier is enough."""
    return sqlite_url


@pytest.fixture
def https_app(sandbox: SandboxControl, sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The reference app served at an https URL (a client registered for it in the sandbox)."""
    sandbox.register_client(HTTPS_CLIENT, HTTPS_SECRET, [f"{HTTPS}/oauth/callback"])
    env = kit_env(
        sandbox.base_url,
        sqlite_url,
        GORGIAS_CLIENT_ID=HTTPS_CLIENT,
        GORGIAS_CLIENT_SECRET=HTTPS_SECRET,
        GORGIAS_APP_URL=HTTPS,
    )
    app = create_app({**env, "TESTING": True})
    yield app
    kit_of(app).close()


def _browse(client: FlaskClient, base_url: str) -> list[Any]:
    """Install acme, open its dashboard, disconnect: every response on the way."""
    seen = [client.get("/oauth/install", query_string={"account": "acme"}, base_url=base_url)]
    query = consent(seen[0].headers["Location"])
    seen.append(client.get("/oauth/callback", query_string=query, base_url=base_url))
    assert seen[-1].status_code == 303, seen[-1].get_data(as_text=True)
    seen.append(client.get("/accounts/acme", base_url=base_url))
    token = re.search(r'name="csrf_token" value="([^"]+)"', seen[-1].get_data(as_text=True))
    assert token is not None
    seen.append(
        client.post(
            "/accounts/acme/disconnect", data={"csrf_token": token.group(1)}, base_url=base_url
        )
    )
    assert seen[-1].status_code == 303
    seen.append(client.get(seen[-1].headers["Location"], base_url=base_url))
    assert seen[-1].status_code == 200
    return seen


def test_https_app_sets_only_host_prefixed_secure_cookies(https_app: Flask) -> None:
    """SEC-12: over https every cookie is __Host-, Secure, HttpOnly, Lax, Path=/, no Domain."""
    cookies = set_cookies(_browse(https_app.test_client(), HTTPS))
    assert {c.split("=", 1)[0] for c in cookies} == {"__Host-gorgias_install", "__Host-session"}
    for cookie in cookies:
        attributes = [a.strip() for a in cookie.split(";")]
        assert "Secure" in attributes and "HttpOnly" in attributes, cookie
        assert "SameSite=Lax" in attributes and "Path=/" in attributes, cookie
        assert not any(a.lower().startswith("domain=") for a in attributes), cookie


def test_loopback_http_app_still_sets_httponly_lax_host_only_cookies(
    installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-12: on a plain-http loopback dev URL, Secure is impossible but the rest holds."""
    cookies = set_cookies(_browse(client, "http://127.0.0.1:8000"))
    assert cookies
    for cookie in cookies:
        attributes = [a.strip() for a in cookie.split(";")]
        assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Path=/" in attributes
        assert not any(a.lower().startswith("domain=") for a in attributes), cookie


def test_session_cookie_holds_no_token_or_secret(https_app: Flask, sandbox: SandboxControl) -> None:
    """SEC-12: decode the (signed, not encrypted) session after an install: no token inside."""
    client = https_app.test_client()
    authorize = client.get("/oauth/install?account=acme", base_url=HTTPS).headers["Location"]
    query = consent(authorize)
    client.get("/oauth/callback", query_string=query, base_url=HTTPS)
    client.get("/accounts/acme", base_url=HTTPS)
    cookie = client.get_cookie("__Host-session", domain="app.example")
    assert cookie is not None
    text = json.dumps(decode_session(cookie.value))
    grant = sandbox.grants("acme")[0]
    values = [
        grant["current_refresh_token"],
        *(t["token"] for t in grant["access_tokens"]),
        query["code"],
        query["state"],
        HTTPS_SECRET,
        CLIENT_SECRET,
    ]
    assert all(v and v not in text for v in values)
    assert set(decode_session(cookie.value)) <= {"sid", "csrf", "_flashes"}  # issue 9 item 3


def test_install_cookie_is_a_random_binding_not_a_state(https_app: Flask) -> None:
    """SEC-12: the install cookie carries a random browser id, never the state or a token."""
    client = https_app.test_client()
    response = client.get("/oauth/install?account=acme", base_url=HTTPS)
    state = consent(response.headers["Location"])["state"]
    cookie = client.get_cookie("__Host-gorgias_install", domain="app.example")
    assert cookie is not None and len(cookie.value) == 43 and cookie.value != state
