"""Checklist A.3: the OpenID Foundation RP conformance modules, reproduced with the sandbox.

Each module's tampered id_token is minted by the sandbox (``id_token_tamper``) and sent through a
whole install. "keys" runs publish a discovery document and JWKS (signatures checked); "no keys"
is Gorgias today (claims checked; the signature is not, by design: the token came over TLS
straight from the token endpoint). A refusal must stop the install before the access token is
used (no ``/api/account`` call), store nothing, bind nothing to the session, and log its reason.

Not applicable here: the userinfo modules (Gorgias has no userinfo endpoint, V-01) and
``at_hash``/``c_hash`` (hybrid flows only). Discovery issuer mismatch and key rotation are in
``test_sec_08_jwks.py``; the refresh-token plan (REL-08) is at the end of this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.errors import IdTokenError
from gorgias_appkit.oauth.idtoken import validate_refreshed_id_token
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .idp import CLIENT_ID
from .idp import Issuers
from .idp import signed
from .support import granted
from .support import kit_of


@pytest.fixture
def installer(shared_installer: InstallDriver) -> InstallDriver:
    """id_token checks happen before any write: one kit-only SQLite app per module (conftest
    ``shared_installer``), and no reference-app provisioning to slow the 40-odd installs."""
    return shared_installer


@pytest.fixture
def client(installer: InstallDriver) -> FlaskClient:
    return installer.app


@pytest.fixture
def app(shared_app: Flask) -> Flask:
    return shared_app


KEYS, NO_KEYS = "keys", "no keys"
# (OIDF module, sandbox tamper, reason expected in both modes or None = accepted)
MODULES = [
    ("oidcc-client-test", "none", None),
    ("oidcc-client-test-idtoken-sig-rs256", "none", None),
    ("oidcc-client-test-client-secret-basic", "none", None),
    ("oidcc-client-test-invalid-iss", "bad_iss", "bad_iss"),
    ("oidcc-client-test-missing-sub", "missing_sub", "missing_sub"),
    ("oidcc-client-test-invalid-aud", "bad_aud", "bad_aud"),
    ("oidcc-client-test-missing-iat", "missing_iat", "missing_iat"),
    ("oidcc-client-test-nonce-invalid", "bad_nonce", "bad_nonce"),
    ("oidcc-client-test-idtoken-sig-none", "alg_none", "bad_alg"),
    ("hs256-signed-with-client-secret", "hs256_with_client_secret", "bad_alg"),
    ("expired (exp=now-3600)", "expired", "expired"),
    ("iat in the future (now+600)", "iat_future", "iat_future"),
    ("invalid azp", "bad_azp", "bad_azp"),
    ("untrusted extra audience", "extra_aud", "bad_aud"),
]
# Signature modules: refused when keys exist; the no-keys fallback does not check signatures.
SIGNATURE_MODULES = [
    ("oidcc-client-test-invalid-sig-rs256", "bad_signature", "bad_signature"),
    ("signed with an unpublished key", "wrong_key", "unknown_kid"),
    ("jwk/jku headers carry the signer's key", "embedded_jwk", "bad_signature"),
]


def _install(
    installer: InstallDriver, sandbox: SandboxControl, tamper: str, keys: bool, **extra: Any
) -> Any:
    sandbox.configure(id_token_tamper=tamper, publish_jwks=keys, **extra)
    return installer.install("acme")


def _logged_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(getattr(r, "reason", ""))
        for r in caplog.records
        if getattr(r, "event", "") == "id_token_rejected"
    ]


def _refused(response: Any, app: Flask, client: FlaskClient, sandbox: SandboxControl) -> None:
    assert response.status_code == 400
    assert "invalid_id_token" in response.get_data(as_text=True)
    assert kit_of(app).installation("acme") is None
    assert sandbox.count("acme", "api.GET /api/account") == 0
    assert "acme" not in granted(app, client)


@pytest.mark.parametrize("keys", [KEYS, NO_KEYS])
@pytest.mark.parametrize(("module", "tamper", "reason"), MODULES, ids=[m[0] for m in MODULES])
def test_rp_module(
    module: str,
    tamper: str,
    reason: str | None,
    keys: str,
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SEC-07/A.3: each OIDF module's id_token is accepted or refused as the suite expects."""
    with caplog.at_level(logging.WARNING, logger="gorgias_appkit"):
        response = _install(installer, sandbox, tamper, keys == KEYS)
    if reason is None:
        assert response.status_code == 303
        stored = kit_of(app).installation("acme")
        assert stored is not None and stored.user_id is not None
        assert _logged_reasons(caplog) == []
        return
    _refused(response, app, client, sandbox)
    assert _logged_reasons(caplog) == [reason]


@pytest.mark.parametrize(
    ("module", "tamper", "reason"), SIGNATURE_MODULES, ids=[m[0] for m in SIGNATURE_MODULES]
)
def test_rp_signature_module_with_keys(
    module: str,
    tamper: str,
    reason: str,
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SEC-07/A.3: with a JWKS, a corrupted or foreign signature is refused."""
    with caplog.at_level(logging.WARNING, logger="gorgias_appkit"):
        response = _install(installer, sandbox, tamper, True)
    _refused(response, app, client, sandbox)
    assert _logged_reasons(caplog) == [reason]


@pytest.mark.parametrize(
    ("module", "tamper", "reason"), SIGNATURE_MODULES, ids=[m[0] for m in SIGNATURE_MODULES]
)
def test_rp_signature_module_without_keys_is_the_documented_fallback(
    module: str,
    tamper: str,
    reason: str,
    installer: InstallDriver,
    app: Flask,
    sandbox: SandboxControl,
) -> None:
    """SEC-07: with no JWKS anywhere, the signature cannot be checked; the claims still are."""
    assert _install(installer, sandbox, tamper, False).status_code == 303
    assert sandbox.count("acme", "oauth.discovery") == 1  # it did look for keys first


def test_kid_absent_single_jwks_is_accepted(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """A.3 oidcc-client-test-kid-absent-single-jwks: no kid, one key: accept."""
    assert _install(installer, sandbox, "no_kid", True).status_code == 303


def test_kid_absent_multiple_jwks_tries_each_key(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """A.3 oidcc-client-test-kid-absent-multiple-jwks: no kid, two keys: the right one verifies."""
    response = _install(installer, sandbox, "no_kid", True, signing_key_generation=1)
    assert response.status_code == 303


def test_refusal_log_lines_carry_no_token(
    installer: InstallDriver, sandbox: SandboxControl, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-07/SEC-13: the refusal is logged as a reason code; the token itself is never logged."""
    with caplog.at_level(logging.DEBUG, logger="gorgias_appkit"):
        _install(installer, sandbox, "bad_signature", True)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("gorgias_appkit.") and not r.name.startswith("gorgias_sandbox")
    ]
    assert any("bad_signature" in line for line in lines)
    assert not any("eyJ" in line for line in lines)


# -- the refresh-token plan (REL-08, OIDC Core §12.2), at unit level ---------------------------
@pytest.fixture
def issuers() -> Iterator[Issuers]:
    fake = Issuers()
    fake.publish("acme")
    yield fake
    fake.http.close()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://globex.gorgias.com"}, "bad_iss"),
        ({"sub": 43}, "refresh_sub_changed"),
        ({"aud": "another-client"}, "bad_aud"),
        ({"azp": "another-client"}, "bad_azp"),
    ],
    ids=["invalid-issuer", "invalid-sub", "invalid-aud", "invalid-azp"],
)
def test_refreshed_id_token_must_match_the_installation(
    changes: dict[str, Any], reason: str, issuers: Issuers
) -> None:
    """REL-08 (OIDF refresh-token plan): a refreshed id_token with another iss/sub/aud/azp fails."""
    token = signed("acme", nonce=None, **changes)
    with pytest.raises(IdTokenError) as info:
        validate_refreshed_id_token(
            token,
            issuer="https://acme.gorgias.com",
            client_id=CLIENT_ID,
            user_id="42",
            now=datetime.now(UTC),
            leeway=120,
            jwks=issuers.cache,
        )
    assert info.value.reason == reason


def test_refreshed_id_token_for_the_same_user_passes(issuers: Issuers) -> None:
    """REL-08: the same iss, sub and aud (no nonce on refresh) is accepted."""
    claims = validate_refreshed_id_token(
        signed("acme", nonce=None),
        issuer="https://acme.gorgias.com",
        client_id=CLIENT_ID,
        user_id="42",
        now=datetime.now(UTC),
        leeway=120,
        jwks=issuers.cache,
    )
    assert claims.sub == "42" and claims.signature_checked
