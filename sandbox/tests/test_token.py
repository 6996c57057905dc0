"""Token endpoint: client auth, response shape, PKCE, code binding and code replay."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote_plus

import jwt
import pytest

ODD_SECRET = "s3cr+t/with:odd%chars"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_token_response_has_gorgias_quirks(flow: Any) -> None:
    """The code exchange returns expires_in 0, RS256 JWTs and no-store caching."""
    response = flow.exchange(flow.code())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 0
    assert body["scope"] == flow.FULL_SCOPE
    assert 40 <= len(body["refresh_token"]) <= 64
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert isinstance(claims["sub"], int)
    assert claims["exp"] - claims["iat"] == 86400
    assert claims["iss"] == "http://sandbox.test/acme" and claims["account"] == "acme"
    assert claims["aud"] == flow.CLIENT_ID == claims["client_id"]
    assert claims["scope"] == flow.FULL_SCOPE and claims["jti"]


def test_refresh_token_only_with_offline_and_id_token_only_with_openid(flow: Any) -> None:
    """Without offline there is no refresh_token; without openid no id_token."""
    body = flow.tokens(scope="tickets:read")
    assert "refresh_token" not in body and "id_token" not in body


def test_id_token_claims(flow: Any) -> None:
    """The id_token carries iss, integer sub, aud, nonce, email and name, and no azp."""
    body = flow.tokens()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["iss"] == "http://sandbox.test/acme" and claims["aud"] == flow.CLIENT_ID
    assert isinstance(claims["sub"], int) and claims["nonce"] == "nonce-1"
    assert claims["email"].endswith("@acme.example.com") and claims["name"]
    assert claims["exp"] - claims["iat"] == 3600 and "azp" not in claims
    flow.configure(id_token_azp=True)
    claims = jwt.decode(flow.tokens()["id_token"], options={"verify_signature": False})
    assert claims["azp"] == flow.CLIENT_ID


@pytest.mark.parametrize(("mode", "expected"), [("zero", 0), ("positive", 86400), ("absent", None)])
def test_expires_in_modes(flow: Any, mode: str, expected: int | None) -> None:
    """expires_in_mode sends 0, the real lifetime, or nothing."""
    flow.configure(expires_in_mode=mode)
    assert flow.tokens().get("expires_in") == expected


def test_opaque_access_tokens_work_on_the_api(flow: Any) -> None:
    """access_token_format=opaque issues a non-JWT token the API accepts."""
    flow.configure(access_token_format="opaque")
    token = flow.tokens()["access_token"]
    assert token.count(".") != 2
    assert flow.api("GET", "/account", token).status_code == 200


def test_odd_secret_correctly_form_encoded_in_basic_auth_works(flow: Any) -> None:
    """A secret with + / : % works when form-urlencoded before base64 (RFC 6749 §2.3.1)."""
    flow.configure(client_secret=ODD_SECRET)
    good = _basic(quote_plus(flow.CLIENT_ID), quote_plus(ODD_SECRET))
    response = flow.http.post(
        "/acme/oauth/token",
        headers=good,
        data={
            "grant_type": "authorization_code",
            "code": flow.code(),
            "redirect_uri": flow.REDIRECT_URI,
        },
    )
    assert response.status_code == 200, response.text


def test_odd_secret_sent_raw_in_basic_auth_fails(flow: Any) -> None:
    """The same secret sent without form-encoding is refused with 401 invalid_client."""
    flow.configure(client_secret=ODD_SECRET)
    response = flow.http.post(
        "/acme/oauth/token",
        headers=_basic(flow.CLIENT_ID, ODD_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": flow.code(),
            "redirect_uri": flow.REDIRECT_URI,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_wrong_secret_and_missing_auth_are_invalid_client(flow: Any) -> None:
    """A wrong secret, an unknown client or no auth at all gives 401 invalid_client."""
    code = flow.code()
    for auth in ((flow.CLIENT_ID, "wrong"), ("who", "ever"), None):
        response = flow.exchange(code, auth=auth)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
        assert "Basic" in response.headers["www-authenticate"]
    assert flow.exchange(code).status_code == 200  # the failures did not burn the code


def test_client_secret_post_only_when_allowed(flow: Any) -> None:
    """Credentials in the form body are refused unless allow_client_secret_post is on."""
    creds = {"client_id": flow.CLIENT_ID, "client_secret": flow.CLIENT_SECRET}
    code = flow.code()
    assert flow.exchange(code, auth=None, **creds).status_code == 401
    flow.configure(allow_client_secret_post=True)
    assert flow.exchange(code, auth=None, **creds).status_code == 200


def test_redirect_uri_must_be_identical(flow: Any) -> None:
    """A token request whose redirect_uri differs from the authorize one is invalid_grant."""
    code = flow.code()
    for uri in (flow.REDIRECT_URI + "/", "http://localhost:8000/oauth/callback"):
        response = flow.exchange(code, redirect_uri=uri)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_account(flow: Any) -> None:
    """A code from one account cannot be exchanged at another account's token endpoint."""
    code = flow.code("acme")
    response = flow.exchange(code, account="globex")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(flow: Any) -> None:
    """A code past its 10-minute life is invalid_grant."""
    code = flow.code()
    record = flow.world.store.codes[code]
    assert record.expires_at - record.issued_at == 600
    record.expires_at = time.time() - 1
    assert flow.exchange(code).json()["error"] == "invalid_grant"


def test_code_replay_is_refused_and_revokes_issued_tokens(flow: Any) -> None:
    """Using a code twice fails and revokes the refresh and access tokens it produced."""
    code = flow.code()
    first = flow.exchange(code).json()
    assert flow.api("GET", "/account", first["access_token"]).status_code == 200
    replay = flow.exchange(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert flow.api("GET", "/account", first["access_token"]).status_code == 401
    assert flow.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"
    (grant,) = flow.grants()
    assert grant["status"] == "revoked" and grant["revoked_reason"] == "code_replay"
    assert flow.world.stats()["counters"]["acme"]["oauth.code_replay"] == 1


def test_pkce_s256_is_verified(flow: Any) -> None:
    """A code bound to an S256 challenge needs the matching verifier."""
    verifier, challenge = flow.pkce_pair()
    code = flow.code(code_challenge=challenge, code_challenge_method="S256")
    missing = flow.exchange(code)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = flow.exchange(code, code_verifier=flow.pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert flow.exchange(code, code_verifier=verifier).status_code == 200


def test_verifier_without_challenge_is_refused(flow: Any) -> None:
    """A code_verifier for a code issued without a challenge is refused (RFC 9700 §4.8)."""
    response = flow.exchange(flow.code(), code_verifier=flow.pkce_pair()[0])
    assert response.status_code == 400


def test_error_statuses(flow: Any) -> None:
    """Unsupported grant types and missing codes get RFC 6749 errors with status 400."""
    auth = (flow.CLIENT_ID, flow.CLIENT_SECRET)
    unsupported = flow.http.post("/acme/oauth/token", data={"grant_type": "password"}, auth=auth)
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    no_code = flow.http.post(
        "/acme/oauth/token", auth=auth, data={"grant_type": "authorization_code"}
    )
    assert no_code.status_code == 400 and no_code.json()["error"] == "invalid_request"
    assert no_code.headers["cache-control"] == "no-store"


def test_token_requests_are_counted_by_grant_type(flow: Any) -> None:
    """Token calls count as oauth.token and oauth.token.<grant_type>."""
    tokens = flow.tokens()
    flow.refresh(tokens["refresh_token"])
    flow.refresh(tokens["refresh_token"])
    counters = flow.world.stats()["counters"]["acme"]
    assert counters["oauth.token"] == 3
    assert counters["oauth.token.authorization_code"] == 1
    assert counters["oauth.token.refresh_token"] == 2
