"""SEC-06: code injection is stopped by PKCE and the nonce; no token is used before both pass."""

from __future__ import annotations

from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..support import consent
from ..support import granted
from ..support import query_of


def _nothing_bound(app: Flask, client: FlaskClient, sandbox: SandboxControl) -> None:
    assert app.extensions["gorgias_appkit"].installation("acme") is None
    assert sandbox.count("acme", "api.GET /api/account") == 0
    assert "acme" not in granted(app, client)  # the victim's session got nothing


def test_attackers_code_in_the_victims_callback_fails_pkce(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-06: a code from the attacker's own session, injected into the victim's, is refused."""
    attacker = app.test_client()
    stolen = consent(attacker.get("/oauth/install?account=acme").headers["Location"])
    victim = installer.consent(installer.start("acme")).query
    response = client.get("/oauth/callback", query_string={**victim, "code": stolen["code"]})
    assert response.status_code == 400
    assert "invalid_grant" in response.get_data(as_text=True)
    _nothing_bound(app, client, sandbox)


def test_code_minted_without_pkce_is_refused(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-06: an attacker's hand-made authorize request without PKCE yields an unusable code."""
    authorize = installer.start("acme")
    params = {k: v for k, v in query_of(authorize).items() if not k.startswith("code_challenge")}
    params.update(nonce="attacker-nonce", state="attacker-state")
    parts = urlsplit(authorize)
    stolen = consent(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}")
    victim = installer.consent(installer.start("acme")).query
    response = client.get("/oauth/callback", query_string={**victim, "code": stolen["code"]})
    assert response.status_code == 400  # the peer refuses a verifier for a code without challenge
    _nothing_bound(app, client, sandbox)


def test_nonce_mismatch_stops_before_any_token_is_used(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-06: with a wrong nonce the access token is never presented (no /api/account call)."""
    sandbox.configure(id_token_tamper="bad_nonce")
    response = installer.install("acme")
    assert response.status_code == 400
    assert "invalid_id_token" in response.get_data(as_text=True)
    assert sandbox.count("acme", "oauth.token") == 1
    _nothing_bound(app, client, sandbox)
