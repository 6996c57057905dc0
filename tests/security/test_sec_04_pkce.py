"""SEC-04: PKCE S256 on every authorization request with a fresh, strong verifier."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import gorgias_appkit.oauth
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .support import query_of

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL(SHA-256), no padding
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_thousand_authorize_urls_use_s256_with_fresh_strong_verifiers(sqlite_url: str) -> None:
    """SEC-04: 1,000 authorize URLs: all S256, unique challenges, verifiers of 43-128 safe chars."""
    settings = KitSettings.from_mapping(
        kit_env("http://127.0.0.1:9", sqlite_url, GORGIAS_ID_TOKEN_JWKS="off")
    )
    kit = Kit(settings)
    try:
        urls = [kit.begin_install("acme", browser_id="b") for _ in range(1000)]
        queries = [query_of(u) for u in urls]
        pending = {q["state"]: kit.states.consume(q["state"]) for q in queries}
    finally:
        kit.close()
    assert {q["code_challenge_method"] for q in queries} == {"S256"}
    challenges = [q["code_challenge"] for q in queries]
    assert len(set(challenges)) == 1000
    assert all(_CHALLENGE.fullmatch(c) for c in challenges)
    assert len({q["nonce"] for q in queries}) == 1000
    for query in queries:
        verifier = pending[query["state"]].code_verifier.reveal()
        assert _VERIFIER.fullmatch(verifier)
        assert len(verifier) >= 64  # >= 256 bits of entropy from a 62-letter alphabet (381 bits)
        assert _s256(verifier) == query["code_challenge"]
        assert verifier not in urls[0]


def test_swapped_verifiers_between_two_installs_give_invalid_grant(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-04: a code redeemed with another install's verifier is refused, with a generic page."""
    first = installer.consent(installer.start("acme")).query
    second = installer.consent(installer.start("acme")).query
    swapped = {**first, "code": second["code"]}
    response = client.get("/oauth/callback", query_string=swapped)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "invalid_grant" in html, html
    assert "did not complete" in html and "Restart the install" in html
    assert sandbox.count("acme", "oauth.token") == 1
    assert app.extensions["gorgias_appkit"].installation("acme") is None


def test_peer_requiring_pkce_accepts_the_kit(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-04: a peer that enforces S256 PKCE sees it on every request and completes the install."""
    sandbox.configure(require_pkce=True)
    assert installer.install("acme").status_code == 303


def test_plain_is_in_no_code_path() -> None:
    """SEC-04: no module of the OAuth code can send ``plain``; S256 is the only method named."""
    folder = Path(gorgias_appkit.oauth.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text()
        assert '"plain"' not in text and "'plain'" not in text, source.name
        for method in re.findall(r'code_challenge_method"\s*:\s*"([^"]+)"', text):
            assert method == "S256", source.name


@pytest.mark.parametrize("published", [True, False])
def test_discovery_does_not_decide_the_challenge_method(
    published: bool, installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-04: with or without discovery metadata, the authorize URL asks for S256."""
    sandbox.configure(publish_jwks=published)
    assert query_of(installer.start("acme"))["code_challenge_method"] == "S256"
