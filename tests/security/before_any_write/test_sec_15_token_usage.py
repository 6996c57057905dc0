"""SEC-15: tokens only as specified: Bearer, in the header, with the scope actually granted."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.oauth.protocol import parse_token_response
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..support import Network
from ..support import consent
from ..support import kit_of
from ..support import query_of
from ..support import start

BAD_BODIES = [
    {"access_token": "at-123", "token_type": "mac", "mac_key": "k"},
    {"access_token": "at-123", "token_type": "MAC"},
    {"access_token": "at-123"},
    {"access_token": "at-123", "token_type": ""},
    {"access_token": "at-123", "token_type": ["Bearer"]},
    {"token_type": "Bearer", "refresh_token": "rt-1"},
    {"access_token": "", "token_type": "Bearer"},
    {"access_token": None, "token_type": "Bearer"},
    {"access_token": 12345, "token_type": "Bearer"},
    {"access_token": "at 123", "token_type": "Bearer"},
    {"access_token": "at-123\r\nX-Evil: 1", "token_type": "Bearer"},
    {"access_token": "at-\u00e9", "token_type": "Bearer"},
    {"access_token": "at-123", "token_type": "Bearer", "refresh_token": {"x": 1}},
    {"access_token": "at-123", "token_type": "Bearer", "id_token": 7},
    {"access_token": "at-123", "token_type": "Bearer", "scope": ["openid"]},
    ["access_token", "at-123"],
    "access_token=at-123&token_type=bearer",
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_unusable_token_responses_are_refused_and_nothing_is_stored(
    body: Any, installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-15: a non-Bearer type, a missing/odd access_token or malformed fields: refused."""
    callback = installer.consent(installer.start("acme"))
    sandbox.add_fault(path="/oauth/token", mode="status", status=200, body=body)
    response = installer.finish(callback)
    assert response.status_code == 400
    assert "Restart the install" in response.get_data(as_text=True)
    assert kit_of(app).installation("acme") is None
    assert sandbox.count("acme", "api.GET /api/account") == 0


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_type_is_case_insensitive(token_type: str) -> None:
    """SEC-15: the Bearer type is matched case-insensitively (RFC 6749 §5.1), stored as Bearer."""
    body = {"access_token": "at-123", "token_type": token_type, "expires_in": 60}
    parsed = parse_token_response(body, sent_at=datetime.now(UTC), default_lifetime=86400)
    assert parsed.tokens.token_type == "Bearer" and parsed.tokens.access_token.reveal() == "at-123"


def test_narrower_scope_is_a_partial_install_with_a_clear_message(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """SEC-15: when fewer scopes come back than were asked for, the install says which."""
    authorize = installer.start("acme")
    query = query_of(authorize)
    query["scope"] = " ".join(s for s in query["scope"].split() if s != "tickets:write")
    parts = urlsplit(authorize)
    narrowed = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    response = installer.finish(installer.consent(narrowed))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "did not grant <code>tickets:write</code>" in page
    installation = kit_of(app).installation("acme")
    assert installation is not None and "tickets:write" not in installation.scopes


def test_tokens_only_travel_in_the_authorization_header(
    net_client: FlaskClient, net_app: Flask, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-15: over install, API calls, refresh and disconnect, no URL carries a token."""
    sandbox.configure(access_token_ttl=60)  # due at once: the API call below refreshes first
    query = consent(start(net_client))
    assert net_client.get("/oauth/callback", query_string=query).status_code == 303
    kit = kit_of(net_app)
    api = kit.client_for("acme")
    api.account_info()
    kit.disconnect("acme")
    grant = sandbox.grants("acme")[0]
    tokens = [t["token"] for t in grant["access_tokens"]] + [grant["refresh_tokens"][0]["token"]]
    assert len(tokens) >= 3
    for request in network.sent:
        url = str(request.url)
        assert "access_token=" not in url and "token=" not in url and "code=" not in url
        assert not any(t in url for t in tokens)
        if "/api/" in url:
            assert request.headers["authorization"].startswith("Bearer ")
    assert any("/api/" in str(r.url) for r in network.sent)
