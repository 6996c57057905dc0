"""SEC-09: no open redirect: return targets are this app's own paths; redirect_uri is fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ...conftest import APP_URL
from ..support import Network
from ..support import consent
from ..support import kit_of
from ..support import query_of
from ..support import start

HOSTILE_NEXT = [
    "https://evil.com",
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "%2F%2Fevil.com",
    "/%2F%2Fevil.com",
    "https:evil.com",
    "javascript:alert(1)",
    "/ok%0d%0aSet-Cookie:x",
    "/ok\r\nSet-Cookie: x=1",
    "///evil.com",
    "/.//evil.com",
    "/./evil",
    "/../evil",
    "http://127.0.0.1:8000/accounts/acme",
    "/accounts/acme?next=https://evil.com",
    "/accounts/acme#@evil.com",
    "data:text/html,<script>alert(1)</script>",
    " /accounts/acme",
    "/oauth/install?account=globex",
    "/oauth/callback",
    "/accounts/acme/disconnect",
    "/\u2215evil.com",
    "/%09/evil.com",
    "//%5Cevil.com",
    "/" + "a" * 300,
    "",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_falls_back_to_the_default_page(
    target: str, shared_app: Flask, quiet_network: Network
) -> None:
    """SEC-09: every hostile ``next`` is ignored: after the install the browser lands at home."""
    client = shared_app.test_client()
    query = consent(start(client, "acme", next=target))
    response = client.get("/oauth/callback", query_string=query)
    assert response.status_code == 303
    assert response.headers["Location"] == "/accounts/acme"


@pytest.mark.parametrize("target", ["/", "/accounts/acme"])
def test_own_pages_are_valid_return_targets(
    target: str, installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-09: a relative path of one of the app's own GET pages is honoured."""
    authorize = client.get("/oauth/install", query_string={"account": "acme", "next": target})
    response = installer.finish(installer.consent(authorize.headers["Location"]))
    assert response.headers["Location"] == target


SPOOFED = [
    {"Host": "evil.com"},
    {"X-Forwarded-Host": "evil.com"},
    {"X-Forwarded-Host": "evil.com", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
    {"Forwarded": "host=evil.com;proto=https"},
    {"X-Original-Host": "evil.com", "X-Forwarded-Server": "evil.com"},
]


@pytest.mark.parametrize("headers", SPOOFED)
def test_spoofed_host_headers_never_change_the_redirect_uri(
    headers: dict[str, str], client: FlaskClient, sandbox: SandboxControl
) -> None:
    """SEC-09: ``Host``/``X-Forwarded-*`` on /oauth/install never reach the authorize URL."""
    response = client.get("/oauth/install?account=acme", headers=headers)
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["redirect_uri"] == f"{APP_URL}/oauth/callback"
    assert response.headers["Location"].startswith(f"{sandbox.base_url}/acme/")


def test_spoofed_forwarded_host_behind_a_trusted_proxy(
    app_config: dict[str, str], tmp_path: Path, sandbox: SandboxControl
) -> None:
    """SEC-09: even with ProxyFix trusting one proxy, redirect_uri stays the configured one."""
    app = create_app({**app_config, "TESTING": True, "GORGIAS_PROXY_FIX": "1"})
    try:
        client = app.test_client()
        response = client.get(
            "/oauth/install?account=acme",
            headers={"X-Forwarded-Host": "evil.com", "X-Forwarded-Proto": "https"},
        )
        authorize = response.headers["Location"]
        assert query_of(authorize)["redirect_uri"] == f"{APP_URL}/oauth/callback"
        callback = client.get(
            "/oauth/callback",
            query_string=consent(authorize),
            headers={"X-Forwarded-Host": "evil.com"},
        )
        assert callback.status_code == 303
        assert "evil" not in callback.headers["Location"]
    finally:
        kit_of(app).close()


@pytest.mark.parametrize("template", ["//evil.com/{account}", "https://evil.com", "/\\evil.com"])
def test_a_bad_after_install_setting_cannot_leave_the_site(
    template: str, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """SEC-09: even a hostile GORGIAS_AFTER_INSTALL_PATH sends the browser to ``/``."""
    app = create_app({**app_config, "TESTING": True, "GORGIAS_AFTER_INSTALL_PATH": template})
    try:
        client = app.test_client()
        query = consent(client.get("/oauth/install?account=acme").headers["Location"])
        assert client.get("/oauth/callback", query_string=query).headers["Location"] == "/"
    finally:
        kit_of(app).close()
