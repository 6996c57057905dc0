"""SEC-07: every id_token check of OIDC Core §3.1.3.7, at unit level, with hand-made tokens.

The same attacks minted by the sandbox and sent through a whole install are in
``test_idtoken_rp_suite.py`` (the OpenID Foundation RP modules of checklist A.3).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest

from gorgias_appkit.errors import IdTokenError
from gorgias_appkit.oauth.idtoken import validate_id_token

from .idp import CLIENT_ID
from .idp import CLIENT_SECRET
from .idp import Issuers
from .idp import claims_for
from .idp import encode
from .idp import hs256
from .idp import jwk
from .idp import public_pem
from .idp import rs256
from .idp import signed

ACME = "https://acme.gorgias.com"


@pytest.fixture
def issuers() -> Iterator[Issuers]:
    fake = Issuers()
    fake.publish("acme")
    yield fake
    fake.http.close()


def check(
    issuers: Issuers, token: str, *, nonce: str | None = "nonce-1", issuer: str = ACME
) -> Any:
    return validate_id_token(
        token,
        issuer=issuer,
        client_id=CLIENT_ID,
        nonce=nonce,
        now=datetime.now(UTC),
        leeway=120,
        jwks=issuers.cache,
    )


def test_honest_token_is_accepted_with_its_signature_checked(issuers: Issuers) -> None:
    """SEC-07: the happy path: RS256 with the account's key, every claim right."""
    claims = check(issuers, signed("acme"))
    assert claims.sub == "42" and claims.email == "owner@example.com" and claims.signature_checked


class Rel(int):
    """Seconds from the moment the token is made (tables are built long before tests run)."""


def resolve(changes: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {k: now + v if isinstance(v, Rel) else v for k, v in changes.items()}


BAD_CLAIMS = [
    ("bad_iss", {"iss": "https://evil.example"}),
    ("bad_iss", {"iss": ACME + "/"}),
    ("bad_iss", {"iss": "https://ACME.gorgias.com"}),
    ("bad_iss", {"iss": "https://globex.gorgias.com"}),
    ("bad_iss", {"iss": None}),
    ("bad_aud", {"aud": "someone-else"}),
    ("bad_aud", {"aud": [CLIENT_ID, "someone-else"]}),
    ("bad_aud", {"aud": []}),
    ("bad_aud", {"aud": None}),
    ("bad_aud", {"aud": {"client": CLIENT_ID}}),
    ("bad_azp", {"azp": "someone-else"}),
    ("bad_azp", {"azp": 7}),
    ("bad_aud", {"aud": [CLIENT_ID, "x"], "azp": CLIENT_ID}),
    ("expired", {"exp": Rel(-300)}),
    ("expired", {"exp": None}),
    ("expired", {"exp": str(int(time.time()) + 3600)}),
    ("expired", {"exp": True}),
    ("missing_iat", {"iat": None}),
    ("missing_iat", {"iat": "now"}),
    ("iat_future", {"iat": Rel(600)}),
    ("not_yet_valid", {"nbf": Rel(600)}),
    ("missing_sub", {"sub": None}),
    ("missing_sub", {"sub": ""}),
    ("missing_sub", {"sub": True}),
    ("missing_sub", {"sub": ["42"]}),
    ("missing_sub", {"sub": -1}),
    ("missing_sub", {"sub": "x" * 256}),
    ("bad_nonce", {"nonce": "another-nonce"}),
    ("bad_nonce", {"nonce": None}),
    ("bad_nonce", {"nonce": 1}),
]


@pytest.mark.parametrize(("reason", "changes"), BAD_CLAIMS)
def test_each_bad_claim_is_refused_with_its_reason(
    reason: str, changes: dict[str, Any], issuers: Issuers
) -> None:
    """SEC-07: iss, aud, azp, exp, iat, nbf, sub and nonce are each checked (valid signature)."""
    with pytest.raises(IdTokenError) as info:
        check(issuers, signed("acme", **resolve(changes)))
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": Rel(-60)},
        {"iat": Rel(60)},
        {"aud": [CLIENT_ID]},
        {"azp": CLIENT_ID},
        {"sub": "user-7"},
        {"nbf": Rel(-10)},
    ],
)
def test_values_inside_the_rules_pass(changes: dict[str, Any], issuers: Issuers) -> None:
    """SEC-07: 120 s of leeway, a one-element aud list, our own azp and string subs are fine."""
    assert check(issuers, signed("acme", **resolve(changes))).signature_checked


def _headers_and_signers() -> list[tuple[str, str, dict[str, Any], Any]]:
    return [
        ("alg-none", "bad_alg", {"alg": "none"}, None),
        ("alg-None", "bad_alg", {"alg": "None"}, None),
        ("no-alg", "bad_alg", {"kid": "acme"}, None),
        ("hs256-client-secret", "bad_alg", {"alg": "HS256"}, hs256(CLIENT_SECRET.encode())),
        ("hs256-public-key", "bad_alg", {"alg": "HS256", "kid": "acme"}, hs256(public_pem("acme"))),
        ("rs512", "bad_alg", {"alg": "RS512", "kid": "acme"}, rs256("acme")),
        ("es256", "bad_alg", {"alg": "ES256", "kid": "acme"}, rs256("acme")),
        ("ps256", "bad_alg", {"alg": "PS256", "kid": "acme"}, rs256("acme")),
        ("crit", "malformed", {"alg": "RS256", "kid": "acme", "crit": ["exp"]}, rs256("acme")),
        ("kid-not-a-string", "malformed", {"alg": "RS256", "kid": 7}, rs256("acme")),
        (
            "rogue-with-jwk-header",
            "bad_signature",
            {"alg": "RS256", "jwk": jwk("rogue"), "jku": "https://evil.example/k"},
            rs256("rogue"),
        ),
        (
            "rogue-with-x5u-header",
            "bad_signature",
            {"alg": "RS256", "x5u": "https://evil.example/cert"},
            rs256("rogue"),
        ),
        (
            "rogue-claiming-acme-kid",
            "bad_signature",
            {"alg": "RS256", "kid": "acme"},
            rs256("rogue"),
        ),
        ("rogue-kid", "unknown_kid", {"alg": "RS256", "kid": "rogue"}, rs256("rogue")),
    ]


@pytest.mark.parametrize(
    ("reason", "header", "signer"),
    [pytest.param(r, h, s, id=i) for i, r, h, s in _headers_and_signers()],
)
def test_algorithm_and_header_attacks_are_refused(
    reason: str, header: dict[str, Any], signer: Any, issuers: Issuers
) -> None:
    """SEC-07: only RS256 with the issuer's own keys; jku/x5u/jwk headers are never trusted."""
    with pytest.raises(IdTokenError) as info:
        check(issuers, encode({"typ": "JWT", **header}, claims_for("acme"), signer))
    assert info.value.reason == reason


def test_corrupted_signature_is_refused(issuers: Issuers) -> None:
    """SEC-07: one flipped byte in an honest signature fails verification."""
    head, body, sig = signed("acme").split(".")
    flipped = ("A" if sig[10] != "A" else "B").join((sig[:10], sig[11:]))
    with pytest.raises(IdTokenError) as info:
        check(issuers, f"{head}.{body}.{flipped}")
    assert info.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "..",
        "e30.e30.",
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.",
        "x" * 20000,
        "\u00e9.\u00e9.\u00e9",
        "eyJhbGciOiJSUzI1NiJ9.W10.sig",
    ],
)
def test_malformed_tokens_are_refused_cleanly(token: str, issuers: Issuers) -> None:
    """SEC-07: garbage is an IdTokenError (never another exception, never accepted)."""
    with pytest.raises(IdTokenError):
        check(issuers, token)


def test_fallback_without_keys_still_checks_algorithm_and_claims() -> None:
    """SEC-07: with no discovery (Gorgias today) alg=none/HS256 and bad claims are still refused."""
    fallback = Issuers()  # acme publishes nothing: discovery answers 404
    try:
        assert check(fallback, signed("acme")).signature_checked is False
        for token in (
            encode({"alg": "none"}, claims_for("acme")),
            encode({"alg": "HS256"}, claims_for("acme"), hs256(CLIENT_SECRET.encode())),
            signed("acme", iss="https://evil.example"),
            signed("acme", nonce="other"),
            signed("acme", exp=int(time.time()) - 300),
        ):
            with pytest.raises(IdTokenError):
                check(fallback, token)
    finally:
        fallback.http.close()


def test_refusal_messages_never_contain_the_token(issuers: Issuers) -> None:
    """SEC-07/SEC-13: the error names a reason, never the token or its claims."""
    token = signed("acme", nonce="secret-nonce-value")
    with pytest.raises(IdTokenError) as info:
        check(issuers, token)
    text = f"{info.value} {info.value!r} {info.value.description}"
    assert token not in text and "secret-nonce-value" not in text and token[:40] not in text
