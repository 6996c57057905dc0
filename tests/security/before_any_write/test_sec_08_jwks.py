"""SEC-08: JWKS per issuer, never shared; unknown kid refetches once; discovery must be honest.

Unit-level cases run against two fake issuers with their own keys (``idp.py``); the last tests
do the same through a whole install against the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.errors import IdTokenError
from gorgias_appkit.errors import TokenEndpointError
from gorgias_appkit.oauth.idtoken import validate_id_token
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..idp import CLIENT_ID
from ..idp import Issuers
from ..idp import jwk
from ..idp import signed


@pytest.fixture
def issuers() -> Iterator[Issuers]:
    fake = Issuers()
    fake.publish("acme")
    fake.publish("globex")
    yield fake
    fake.http.close()


def check(issuers: Issuers, token: str, account: str = "acme") -> Any:
    return validate_id_token(
        token,
        issuer=f"https://{account}.gorgias.com",
        client_id=CLIENT_ID,
        nonce="nonce-1",
        now=datetime.now(UTC),
        leeway=120,
        jwks=issuers.cache,
    )


def test_another_accounts_key_is_refused(issuers: Issuers) -> None:
    """SEC-08: a token for acme signed with globex's (published, valid) key is refused for acme."""
    assert check(issuers, signed("globex"), "globex").signature_checked
    with pytest.raises(IdTokenError) as info:
        check(issuers, signed("acme", signer="globex"))
    assert info.value.reason == "unknown_kid"
    with pytest.raises(IdTokenError):
        check(issuers, signed("acme", signer="globex", kid="acme"))
    with pytest.raises(IdTokenError):
        check(issuers, signed("acme", signer="globex", kid=None))


def test_keys_are_cached_per_issuer(issuers: Issuers) -> None:
    """SEC-08: each issuer's keys are fetched from its own host and kept apart."""
    check(issuers, signed("acme"))
    check(issuers, signed("globex"), "globex")
    check(issuers, signed("acme"))
    assert issuers.hits["acme:jwks"] == 1 and issuers.hits["globex:jwks"] == 1
    acme_keys = issuers.cache.get("https://acme.gorgias.com")
    assert acme_keys is not None and [k.key_id for k in acme_keys.keys] == ["acme"]


def test_rotated_key_triggers_one_refetch_then_is_accepted(issuers: Issuers) -> None:
    """SEC-08: a new kid between two logins refetches the JWKS once and then verifies."""
    check(issuers, signed("acme"))
    issuers.publish("acme", "acme-2026", "acme")
    assert check(issuers, signed("acme", signer="acme-2026")).signature_checked
    assert issuers.hits["acme:jwks"] == 2
    assert check(issuers, signed("acme", signer="acme-2026")).signature_checked
    assert issuers.hits["acme:jwks"] == 2


def test_unknown_kid_refetches_at_most_once_a_minute(issuers: Issuers) -> None:
    """SEC-08: a stream of tokens with an unknown kid costs the issuer one refetch, not many."""
    check(issuers, signed("acme"))
    for _ in range(5):
        with pytest.raises(IdTokenError):
            check(issuers, signed("acme", signer="rogue"))
    assert issuers.hits["acme:jwks"] == 2


def test_no_kid_with_one_key_is_accepted(issuers: Issuers) -> None:
    """SEC-08 / OIDF kid-absent-single-jwks: no kid and one key: verify with it."""
    assert check(issuers, signed("acme", kid=None)).signature_checked


def test_no_kid_with_several_keys_tries_each(issuers: Issuers) -> None:
    """SEC-08 / OIDF kid-absent-multiple-jwks: the key that verifies is found; no key, refused."""
    issuers.publish("acme", "acme-old", "acme")
    assert check(issuers, signed("acme", kid=None)).signature_checked
    with pytest.raises(IdTokenError) as info:
        check(issuers, signed("acme", signer="rogue", kid=None))
    assert info.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"issuer": "https://evil.example"}, "discovery_issuer_mismatch"),
        ({"issuer": "https://acme.gorgias.com/"}, "discovery_issuer_mismatch"),
        ({"issuer": "https://globex.gorgias.com"}, "discovery_issuer_mismatch"),
        ({"jwks_uri": "https://evil.example/jwks.json"}, "bad_jwks_uri"),
        ({"jwks_uri": "https://globex.gorgias.com/.well-known/jwks.json"}, "bad_jwks_uri"),
        ({"jwks_uri": "http://acme.gorgias.com/.well-known/jwks.json"}, "bad_jwks_uri"),
        ({"jwks_uri": "https://acme.gorgias.com.evil.example/jwks"}, "bad_jwks_uri"),
        ({"jwks_uri": None}, "bad_jwks_uri"),
    ],
)
def test_dishonest_discovery_is_refused(doc: dict[str, Any], reason: str, issuers: Issuers) -> None:
    """SEC-08: discovery naming another issuer, or keys off the issuer's URL, is refused."""
    issuers.docs["acme"] = doc
    with pytest.raises(IdTokenError) as info:
        check(issuers, signed("acme"))
    assert info.value.reason == reason
    assert not any(k.startswith("elsewhere:") for k in issuers.hits)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_failing_discovery_fails_closed(status: int, issuers: Issuers) -> None:
    """SEC-08/REL-13: a failing discovery server fails the login closed (no unsigned fallback)."""
    issuers.status["acme"] = status
    with pytest.raises(TokenEndpointError):
        check(issuers, signed("acme"))


@pytest.mark.parametrize("status", [404, 410, 302, 401, 200])
def test_no_discovery_document_means_the_documented_fallback(status: int, issuers: Issuers) -> None:
    """SEC-08: a 404, a login redirect or a non-JSON page is "no discovery": claims-only checks."""
    issuers.status["acme"] = status  # the mock answers {} (200) or an empty body
    assert check(issuers, signed("acme")).signature_checked is False
    with pytest.raises(IdTokenError):
        check(issuers, signed("acme", iss="https://evil.example"))


def test_jwks_without_usable_rsa_key_is_refused(issuers: Issuers) -> None:
    """SEC-08: a JWKS holding only symmetric or encryption keys is no key at all."""
    issuers.keys["acme"] = []
    issuers.raw["acme"] = [
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256", "kid": "acme"},
        {**jwk("acme"), "use": "enc"},
        {**jwk("acme"), "alg": "RS512"},
        "not-a-key",
    ]
    with pytest.raises(IdTokenError) as info:
        check(issuers, signed("acme"))
    assert info.value.reason == "bad_jwks"


# -- through a whole install against the sandbox ----------------------------------------------
def test_discovery_naming_another_issuer_aborts_before_redirecting(
    client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-08: a foreign issuer in acme's discovery doc stops the install before any redirect."""
    sandbox.configure(publish_jwks=True, discovery_issuer=f"{sandbox.base_url}/globex")
    response = client.get("/oauth/install?account=acme")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_id_token" in response.get_data(as_text=True)
    assert sandbox.count("acme", "oauth.authorize") == 0
    assert sandbox.count("acme", "oauth.jwks") == 0


def test_key_rotation_between_two_logins_refetches_once(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-08: the sandbox rotates its signing key between two installs; one refetch, accepted."""
    sandbox.configure(publish_jwks=True)
    assert installer.install("acme").status_code == 303
    sandbox.configure(signing_key_generation=1)
    assert installer.install("acme").status_code == 303
    assert sandbox.count("acme", "oauth.jwks") == 2


def test_jwks_outage_fails_the_install_but_not_the_api(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-08/REL-13: a JWKS 500 fails a new install with a retry page; API calls carry on."""
    assert installer.install("acme").status_code == 303
    sandbox.configure(publish_jwks=True)
    sandbox.add_fault(path="/.well-known/jwks.json", mode="status", status=500, count=-1)
    response = installer.app.get("/oauth/install?account=globex")
    assert response.status_code == 502
    assert "Restart the install" in response.get_data(as_text=True)
    kit = app.extensions["gorgias_appkit"]
    assert kit.client_for("acme").account_info()["domain"] == "acme"
