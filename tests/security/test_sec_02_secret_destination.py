"""SEC-02: the client secret only goes to the validated account's endpoints; no redirect followed.

The kit's HTTP client here routes the sandbox to real HTTP and every other host to a recorder,
so "no request reaches the second host" is observed. TLS verification is SEC-17's module.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_sandbox import SandboxControl

from ..conftest import CLIENT_SECRET
from ..conftest import kit_env
from .support import EVIL
from .support import Network
from .support import build_app
from .support import consent
from .support import kit_of
from .support import start


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Where requests go does not depend on the database; one tier is enough."""
    return sqlite_url


def _install_to_callback(client: FlaskClient, account: str = "acme") -> dict[str, str]:
    return consent(start(client, account))


def _secret_went_elsewhere(network: Network) -> bool:
    return any(
        CLIENT_SECRET.encode() in r.content or "authorization" in r.headers
        for r in network.elsewhere.requests
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_endpoint_redirect_is_an_error_and_is_not_followed(
    status: int,
    net_client: FlaskClient,
    net_app: Flask,
    network: Network,
    sandbox: SandboxControl,
) -> None:
    """SEC-02: a token endpoint answering 3xx to evil gives a failure page; evil sees nothing."""
    query = _install_to_callback(net_client)
    sandbox.add_fault(path="/oauth/token", mode="redirect", location=f"{EVIL}/t", status=status)
    response = net_client.get("/oauth/callback", query_string=query)
    assert response.status_code == 502
    assert "Restart the install" in response.get_data(as_text=True)
    assert network.foreign() == [] and network.elsewhere.requests == []
    assert sandbox.count("acme", "oauth.token") == 1
    assert kit_of(net_app).installation("acme") is None


def test_redirect_is_not_followed_even_by_a_following_client(
    sandbox: SandboxControl, sqlite_url: str, tmp_path: Path
) -> None:
    """SEC-02: even when the partner's httpx client follows redirects, token calls do not."""
    network = Network(sandbox.base_url, follow_redirects=True)
    app = build_app(kit_env(sandbox.base_url, sqlite_url), tmp_path, http=network.client)
    try:
        client = app.test_client()
        query = _install_to_callback(client)
        sandbox.add_fault(path="/oauth/token", mode="redirect", location=f"{EVIL}/t")
        assert client.get("/oauth/callback", query_string=query).status_code == 502
        assert network.elsewhere.requests == []
    finally:
        kit_of(app).close()


def test_client_secret_post_body_never_reaches_the_redirect_target(
    sandbox: SandboxControl, sqlite_url: str, tmp_path: Path
) -> None:
    """SEC-02: with client_secret_post the secret is in the body; a 307 must not re-POST it."""
    sandbox.configure(allow_client_secret_post=True)
    network = Network(sandbox.base_url, follow_redirects=True)
    env = kit_env(sandbox.base_url, sqlite_url, GORGIAS_TOKEN_AUTH_METHOD="client_secret_post")
    app = build_app(env, tmp_path, http=network.client)
    try:
        client = app.test_client()
        query = _install_to_callback(client)
        sandbox.add_fault(path="/oauth/token", mode="redirect", location=f"{EVIL}/t", status=307)
        assert client.get("/oauth/callback", query_string=query).status_code == 502
        assert network.elsewhere.requests == [] and not _secret_went_elsewhere(network)
        sandbox.clear_faults()
        assert client.get("/oauth/callback", query_string=query).status_code == 400  # state used
    finally:
        kit_of(app).close()


def test_revocation_redirect_is_not_followed_and_tokens_are_still_dropped(
    net_client: FlaskClient, net_app: Flask, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-02: a revocation endpoint redirecting to evil gets nothing; local tokens go anyway."""
    query = _install_to_callback(net_client)
    assert net_client.get("/oauth/callback", query_string=query).status_code == 303
    sandbox.add_fault(path="/oauth/revoke", mode="redirect", location=f"{EVIL}/r", count=-1)
    installation = kit_of(net_app).disconnect("acme").installation
    assert installation.status is InstallStatus.UNINSTALLED and installation.tokens is None
    assert network.elsewhere.requests == [] and not _secret_went_elsewhere(network)


def test_discovery_redirect_is_not_followed(
    net_client: FlaskClient, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-02/SEC-08: a discovery URL redirecting elsewhere is "no document"; nothing follows it."""
    sandbox.configure(publish_jwks=True)
    sandbox.add_fault(
        path="/.well-known/openid-configuration",
        mode="redirect",
        location=f"{EVIL}/discovery",
        count=-1,
    )
    response = net_client.get("/oauth/install", query_string={"account": "acme"})
    assert response.status_code == 302  # the documented fallback: claims checked, no JWKS
    assert network.elsewhere.requests == []


def test_jwks_redirect_is_not_followed_and_fails_closed(
    net_client: FlaskClient, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-02/SEC-08: discovery promised keys; a JWKS redirecting elsewhere stops the install."""
    sandbox.configure(publish_jwks=True)
    sandbox.add_fault(
        path="/.well-known/jwks.json", mode="redirect", location=f"{EVIL}/jwks", count=-1
    )
    response = net_client.get("/oauth/install", query_string={"account": "acme"})
    assert response.status_code == 502
    assert "Location" not in response.headers
    assert network.elsewhere.requests == []
    assert sandbox.count("acme", "oauth.authorize") == 0


def test_every_request_the_kit_makes_stays_on_the_account(
    net_client: FlaskClient, net_app: Flask, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-02: a whole install, API call, refresh and disconnect only ever call acme's URLs."""
    sandbox.configure(publish_jwks=True, access_token_ttl=60)  # due at once: next call refreshes
    query = _install_to_callback(net_client)
    assert net_client.get("/oauth/callback", query_string=query).status_code == 303
    kit = kit_of(net_app)
    kit.access_token_for("acme")
    kit.client_for("acme").account_info()
    kit.disconnect("acme")
    assert sandbox.count("acme", "oauth.token.refresh_token") >= 1
    assert network.foreign() == []
    assert all(url.startswith(f"{sandbox.base_url}/acme/") for url in network.urls())
