"""Signing keys and JWTs: access tokens, id_tokens, their tamper modes and access-token checks.

One RSA key per sandbox process signs everything (its ``kid`` is published in the JWKS); a
second "rogue" key, never published, backs the ``wrong_key`` tamper mode. JWTs are assembled
by hand (header.payload.signature) rather than with a JOSE library because several tamper modes
(``alg_none``, ``hs256_with_client_secret``, ``bad_signature``) must produce tokens that
libraries refuse to create. Verification uses PyJWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_lock = threading.Lock()
_keys: dict[str, KeyPair] = {}


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class KeyPair:
    """An RSA private key and the ``kid`` it is published under."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, str]:
        """Return the public half as a JWK (RFC 7517)."""
        numbers = self.private_key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": b64url(n),
            "e": b64url(e),
        }

    def sign(self, data: bytes) -> bytes:
        """RS256-sign ``data``."""
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _key(name: str) -> KeyPair:
    with _lock:
        if name not in _keys:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _keys[name] = KeyPair(kid=f"sandbox-{name}-{secrets.token_hex(4)}", private_key=private)
        return _keys[name]


def signing_key(generation: int = 0) -> KeyPair:
    """The process-wide key that signs every legitimate token (``generation`` > 0: rotated)."""
    return _key("main" if generation == 0 else f"main-{generation}")


def rogue_key() -> KeyPair:
    """A second key that is never published (``wrong_key`` tamper mode)."""
    return _key("rogue")


def jwks(generation: int = 0) -> dict[str, list[dict[str, str]]]:
    """The published JSON Web Key Set: the signing key of each generation, newest first."""
    return {"keys": [signing_key(g).public_jwk() for g in range(generation, -1, -1)]}


def encode(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    """Serialise a compact JWS; ``sign`` maps the signing input to signature bytes (or None)."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = sign(signing_input.encode("ascii")) if sign else b""
    return signing_input + "." + b64url(signature)


def sign_rs256(claims: dict[str, Any], key: KeyPair | None = None) -> str:
    """Sign ``claims`` as a normal RS256 JWT with ``key`` (default: the signing key)."""
    key = key or signing_key()
    return encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key.sign)


def half_hash(value: str) -> str:
    """``at_hash`` for RS256: left half of SHA-256, base64url (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def mint_access_token(
    *, issuer: str, account: str, client_id: str, user_id: int, scope: str, ttl: int
) -> tuple[str, dict[str, Any]]:
    """Return an RS256 access-token JWT shaped like Gorgias' (integer ``sub``) and its claims."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": user_id,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),
        "scope": scope,
        "account": account,
        "client_id": client_id,
    }
    return sign_rs256(claims), claims


def id_token_claims(
    *,
    issuer: str,
    client_id: str,
    user: dict[str, Any],
    scope: str,
    nonce: str | None,
    ttl: int,
    access_token: str | None,
    with_azp: bool,
) -> dict[str, Any]:
    """Build honest id_token claims; ``email``/``name`` follow the ``email``/``profile`` scopes."""
    now = int(time.time())
    scopes = scope.split()
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": user["id"],
        "aud": client_id,
        "iat": now,
        "exp": now + ttl,
        "auth_time": now,
    }
    if with_azp:
        claims["azp"] = client_id
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = half_hash(access_token)
    if "email" in scopes:
        claims["email"] = user["email"]
    if "profile" in scopes:
        claims["name"] = user["name"]
    return claims


def mint_id_token(
    claims: dict[str, Any], tamper: str, client_secret: str, generation: int = 0
) -> str:
    """Sign id_token ``claims``, first breaking them as the ``tamper`` mode says."""
    claims = dict(claims)
    now = int(time.time())
    key = signing_key(generation)
    if tamper == "bad_iss":
        claims["iss"] = "https://evil.example"
    elif tamper == "bad_aud":
        claims["aud"] = "someone-else-client-id"
    elif tamper == "missing_sub":
        claims.pop("sub", None)
    elif tamper == "missing_iat":
        claims.pop("iat", None)
    elif tamper == "bad_nonce":
        claims["nonce"] = "tampered-" + secrets.token_urlsafe(8)
    elif tamper == "expired":
        claims["iat"], claims["exp"] = now - 7200, now - 3600
    elif tamper == "iat_future":
        claims["iat"] = now + 600
        claims["exp"] = claims["iat"] + 3600
    elif tamper == "bad_azp":
        claims["azp"] = "someone-else-client-id"
    elif tamper == "extra_aud":
        claims["azp"] = claims["aud"]
        claims["aud"] = [claims["aud"], "someone-else-client-id"]
    if tamper == "no_kid":
        return encode({"alg": "RS256", "typ": "JWT"}, claims, key.sign)
    if tamper == "embedded_jwk":  # the header carries the signer's own key: must be ignored
        rogue = rogue_key()
        header = {
            "alg": "RS256",
            "typ": "JWT",
            "jwk": rogue.public_jwk(),
            "jku": "https://evil.example/jwks.json",
        }
        return encode(header, claims, rogue.sign)
    if tamper == "alg_none":
        return encode({"alg": "none", "typ": "JWT"}, claims)
    if tamper == "hs256_with_client_secret":
        secret = client_secret.encode()
        return encode(
            {"alg": "HS256", "typ": "JWT"},
            claims,
            lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
        )
    if tamper == "wrong_key":
        return sign_rs256(claims, rogue_key())
    token = sign_rs256(claims, key)
    if tamper == "bad_signature":
        head, body, sig = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
        raw[len(raw) // 2] ^= 0xFF
        token = f"{head}.{body}.{b64url(bytes(raw))}"
    return token


def verify_access_token(token: str, leeway: float) -> dict[str, Any]:
    """Verify an access-token JWT's signature, ``exp`` and ``iat``; raise ``jwt.PyJWTError``."""
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key().private_key.public_key(),
        algorithms=["RS256"],
        leeway=leeway,
        options={"verify_aud": False, "verify_sub": False, "require": ["exp", "iat"]},
    )
    return claims


def looks_like_jwt(token: str) -> bool:
    """True when ``token`` has the three dot-separated parts of a compact JWS."""
    return token.count(".") == 2
