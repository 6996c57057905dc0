"""A fake set of OpenID issuers for unit-level id_token tests (SEC-07, SEC-08, REL-08).

Each issuer (``https://{account}.gorgias.com``) has its own RSA keys, discovery document and
JWKS, served through ``httpx.MockTransport`` to a real :class:`OAuthClient`/:class:`JwksCache`.
Tokens are assembled by hand so that broken ones (``alg=none``, HS256, bad signatures) can exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from gorgias_appkit import Secret
from gorgias_appkit import UrlTemplate
from gorgias_appkit.core.clock import system_clock
from gorgias_appkit.oauth.client import OAuthClient
from gorgias_appkit.oauth.discovery import JwksCache

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "s3cr+t/with:odd%chars"
_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key per name, made once per test session."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


def jwk(name: str, **extra: str) -> dict[str, str]:
    numbers = key(name).public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": name,
        "n": b64(n),
        "e": b64(e),
        **extra,
    }


def public_pem(name: str) -> bytes:
    return (
        key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def encode(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(sign(head.encode()) if sign else b"")


def rs256(name: str) -> Any:
    return lambda data: key(name).sign(data, padding.PKCS1v15(), hashes.SHA256())


def hs256(secret: bytes) -> Any:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def claims_for(account: str, **changes: Any) -> dict[str, Any]:
    """Honest claims for an install into ``account``; ``changes`` override (None removes)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://{account}.gorgias.com",
        "sub": 42,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 3600,
        "nonce": "nonce-1",
        "email": "owner@example.com",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def signed(account: str, signer: str | None = None, kid: str | None = "", **changes: Any) -> str:
    """An RS256 token for ``account`` signed with key ``signer`` (default: the account's)."""
    signer = signer or account
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid or signer
    return encode(header, claims_for(account, **changes), rs256(signer))


class Issuers:
    """Discovery and JWKS of each ``https://{account}.gorgias.com`` issuer, behind a mock."""

    def __init__(self) -> None:
        self.keys: dict[str, list[str]] = {}  # account -> key names published
        self.docs: dict[str, dict[str, Any]] = {}  # account -> discovery overrides
        self.status: dict[str, int] = {}  # account -> forced discovery status
        self.raw: dict[str, list[dict[str, Any]]] = {}  # account -> extra JWKS entries as is
        self.hits: Counter[str] = Counter()
        self.http = httpx.Client(transport=httpx.MockTransport(self._handle))
        oauth = OAuthClient(
            http=self.http,
            urls=UrlTemplate.parse("https://{account}.gorgias.com"),
            client_id=CLIENT_ID,
            client_secret=Secret(CLIENT_SECRET),
            clock=system_clock(),
        )
        self.cache = JwksCache(oauth)

    def publish(self, account: str, *names: str) -> None:
        self.keys[account] = list(names or (account,))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        account = request.url.host.split(".")[0]
        issuer = f"https://{account}.gorgias.com"
        if request.url.path == "/.well-known/openid-configuration":
            self.hits[f"{account}:discovery"] += 1
            if account in self.status:
                return httpx.Response(self.status[account], text="<html>Sign in</html>")
            if account not in self.keys:
                return httpx.Response(404, json={"error": "not found"})
            doc = {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "authorization_response_iss_parameter_supported": False,
                **self.docs.get(account, {}),
            }
            return httpx.Response(200, json=doc)
        if request.url.path == "/.well-known/jwks.json":
            self.hits[f"{account}:jwks"] += 1
            keys = [jwk(n) for n in self.keys[account]] + self.raw.get(account, [])
            return httpx.Response(200, json={"keys": keys})
        self.hits[f"elsewhere:{request.url}"] += 1
        return httpx.Response(404)
