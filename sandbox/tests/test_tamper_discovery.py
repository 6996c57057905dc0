"""id_token tamper modes (OpenID RP conformance style) and the optional discovery/JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import pytest

from gorgias_sandbox import tokens as sandbox_tokens


def _b64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _id_token(flow: Any, tamper: str) -> str:
    flow.configure(id_token_tamper=tamper, publish_jwks=True)
    token: str = flow.tokens()["id_token"]
    return token


def _verify(flow: Any, token: str, **options: Any) -> dict[str, Any]:
    """Verify like a strict RP: JWKS key by kid, RS256 only, iss/aud/exp checked."""
    keys = flow.http.get("/acme/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token).get("kid")
    (key,) = [k for k in keys if k["kid"] == kid] if kid else keys
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=flow.CLIENT_ID,
        issuer="http://sandbox.test/acme",
        options={"verify_sub": False, **options},
    )
    return claims


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_untampered_id_token_verifies_against_jwks(flow: Any) -> None:
    """With tamper=none the id_token passes strict verification with the published key."""
    claims = _verify(flow, _id_token(flow, "none"))
    assert claims["nonce"] == "nonce-1" and isinstance(claims["sub"], int)


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("bad_iss", lambda c: c["iss"] != "http://sandbox.test/acme"),
        ("bad_aud", lambda c: c["aud"] != "sandbox-client-id"),
        ("missing_sub", lambda c: "sub" not in c),
        ("missing_iat", lambda c: "iat" not in c),
        ("bad_nonce", lambda c: c["nonce"] != "nonce-1"),
        ("expired", lambda c: c["exp"] < time.time()),
        ("iat_future", lambda c: c["iat"] > time.time() + 300),
    ],
)
def test_claim_tampering_keeps_a_valid_signature(flow: Any, mode: str, check: Any) -> None:
    """Each claim tamper mode breaks exactly its claim under a genuine RS256 signature."""
    token = _id_token(flow, mode)
    assert check(_claims(token))
    _verify(flow, token, verify_iss=False, verify_aud=False, verify_exp=False, verify_iat=False)


def test_bad_signature(flow: Any) -> None:
    """bad_signature keeps honest claims but the signature does not verify."""
    token = _id_token(flow, "bad_signature")
    assert _claims(token)["iss"] == "http://sandbox.test/acme"
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(flow, token)


def test_alg_none(flow: Any) -> None:
    """alg_none produces an unsigned token with alg=none and an empty signature."""
    token = _id_token(flow, "alg_none")
    assert jwt.get_unverified_header(token)["alg"] == "none" and token.endswith(".")
    with pytest.raises(jwt.PyJWTError):
        _verify(flow, token)


def test_hs256_with_client_secret(flow: Any) -> None:
    """hs256_with_client_secret is an HS256 MAC keyed with the client secret."""
    token = _id_token(flow, "hs256_with_client_secret")
    head, body, sig = token.split(".")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    mac = hmac.new(flow.CLIENT_SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256)
    assert hmac.compare_digest(mac.digest(), _b64(sig))


def test_wrong_key(flow: Any) -> None:
    """wrong_key is signed by a key whose kid is absent from the JWKS."""
    token = _id_token(flow, "wrong_key")
    kid = jwt.get_unverified_header(token)["kid"]
    keys = flow.http.get("/acme/.well-known/jwks.json").json()["keys"]
    assert kid not in {k["kid"] for k in keys}
    rogue = sandbox_tokens.rogue_key().private_key.public_key()
    jwt.decode(
        token, rogue, algorithms=["RS256"], audience=flow.CLIENT_ID, options={"verify_sub": False}
    )


def test_tamper_does_not_touch_the_access_token(flow: Any) -> None:
    """Tampering applies to the id_token only; the access token still works on the API."""
    flow.configure(id_token_tamper="bad_signature")
    assert flow.api("GET", "/account", flow.tokens()["access_token"]).status_code == 200


def test_discovery_and_jwks_are_absent_by_default(flow: Any) -> None:
    """Like Gorgias (none known), discovery and JWKS are 404 unless publish_jwks is on."""
    assert flow.http.get("/acme/.well-known/openid-configuration").status_code == 404
    assert flow.http.get("/acme/.well-known/jwks.json").status_code == 404


def test_discovery_document_when_published(flow: Any) -> None:
    """With publish_jwks the per-account discovery document names the account's endpoints."""
    flow.configure(publish_jwks=True, send_iss=True)
    doc = flow.http.get("/globex/.well-known/openid-configuration").json()
    assert doc["issuer"] == "http://sandbox.test/globex"
    assert doc["token_endpoint"] == "http://sandbox.test/globex/oauth/token"
    assert doc["revocation_endpoint"].endswith("/globex/oauth/revoke")
    assert doc["jwks_uri"] == "http://sandbox.test/globex/.well-known/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    keys = flow.http.get(doc["jwks_uri"].removeprefix("http://sandbox.test")).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["kid"] and "d" not in keys[0]


def test_azp_and_extra_audience_modes(flow: Any) -> None:
    """bad_azp names another authorized party; extra_aud adds an untrusted audience."""
    assert _claims(_id_token(flow, "bad_azp"))["azp"] == "someone-else-client-id"
    claims = _claims(_id_token(flow, "extra_aud"))
    assert claims["aud"] == [flow.CLIENT_ID, "someone-else-client-id"]
    assert claims["azp"] == flow.CLIENT_ID


def test_no_kid_is_signed_by_the_published_key(flow: Any) -> None:
    """no_kid omits the header's kid but is a genuine RS256 token (verifies with the one key)."""
    token = _id_token(flow, "no_kid")
    assert "kid" not in jwt.get_unverified_header(token)
    assert _verify(flow, token)["nonce"] == "nonce-1"


def test_embedded_jwk_carries_the_rogue_signer_key(flow: Any) -> None:
    """embedded_jwk puts the (unpublished) signer key in the jwk header and a jku URL."""
    token = _id_token(flow, "embedded_jwk")
    header = jwt.get_unverified_header(token)
    assert header["jku"].startswith("https://evil.example")
    rogue = sandbox_tokens.rogue_key()
    assert header["jwk"]["kid"] == rogue.kid
    with pytest.raises(jwt.PyJWTError):
        _verify(flow, token)


def test_signing_key_rotation_publishes_every_generation(flow: Any) -> None:
    """signing_key_generation=N signs id_tokens with a new kid; the JWKS lists N..0, newest 1st."""
    before = flow.http.get("/acme/.well-known/jwks.json")
    assert before.status_code == 404  # publish_jwks is off until _id_token turns it on
    token = _id_token(flow, "none")
    old_kid = jwt.get_unverified_header(token)["kid"]
    flow.configure(signing_key_generation=1)
    rotated = flow.tokens()["id_token"]
    kids = [k["kid"] for k in flow.http.get("/acme/.well-known/jwks.json").json()["keys"]]
    new_kid = jwt.get_unverified_header(rotated)["kid"]
    assert new_kid != old_kid and kids == [new_kid, old_kid]
    assert _verify(flow, rotated)["nonce"] == "nonce-1"


def test_discovery_issuer_override(flow: Any) -> None:
    """discovery_issuer makes the discovery document name a foreign issuer."""
    flow.configure(publish_jwks=True, discovery_issuer="https://evil.example")
    doc = flow.http.get("/acme/.well-known/openid-configuration").json()
    assert doc["issuer"] == "https://evil.example"
    assert doc["token_endpoint"] == "http://sandbox.test/acme/oauth/token"
