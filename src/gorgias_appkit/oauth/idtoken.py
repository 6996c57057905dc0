"""id_token validation (OIDC Core §3.1.3.7) and per-issuer JWKS discovery.

With a JWKS (``{issuer}/.well-known/openid-configuration`` whose ``issuer`` matches and whose
``jwks_uri`` is on the issuer's own origin) the signature is verified with that issuer's keys
only (SEC-08). Gorgias publishes none that we know of (gorgias-platform.md §8): then the
documented fallback applies. The token came over TLS straight from the token endpoint we
authenticated to, so its claims are still checked but its signature is not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import jwt
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError
from jwt.exceptions import PyJWTError

from ..errors import IdTokenError
from ..errors import TokenEndpointError
from .client import OAuthClient

log = logging.getLogger("gorgias_appkit.oauth")

ALLOWED_ALGORITHMS = ("RS256",)  # V-07: Gorgias signs with RS256 (gorgias-platform.md §1.6)
_JWKS_TTL = 3600.0
_REFETCH_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class IdClaims:
    """The identity an id_token asserts."""

    sub: str
    email: str | None
    name: str | None
    signature_checked: bool


@dataclass
class _Entry:
    jwks: PyJWKSet | None
    fetched: float


class JwksCache:
    """One JWKS per issuer, never shared across accounts; unknown ``kid`` refetches once."""

    def __init__(self, oauth: OAuthClient, *, enabled: bool = True) -> None:
        self.oauth = oauth
        self.enabled = enabled
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, issuer: str, *, refresh: bool = False) -> PyJWKSet | None:
        """Return the issuer's keys, ``None`` when it publishes none; fail closed on errors."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(issuer)
            now = time.monotonic()
            fresh = entry is not None and now - entry.fetched < _JWKS_TTL
            may_refetch = entry is None or now - entry.fetched >= _REFETCH_INTERVAL
            if entry is not None and fresh and not (refresh and may_refetch):
                return entry.jwks
            jwks = self._fetch(issuer)
            self._entries[issuer] = _Entry(jwks, now)
            return jwks

    def _fetch(self, issuer: str) -> PyJWKSet | None:
        status, doc = self.oauth.get_json(issuer + "/.well-known/openid-configuration")
        if status == 404:
            return None
        if status != 200 or not isinstance(doc, Mapping):
            raise TokenEndpointError(f"discovery answered {status}", status_code=status)
        if doc.get("issuer") != issuer:
            raise IdTokenError("discovery_issuer_mismatch", "discovery names another issuer")
        jwks_uri = doc.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _same_origin(jwks_uri, issuer):
            raise IdTokenError("bad_jwks_uri", "jwks_uri is not on the issuer's host")
        status, keys = self.oauth.get_json(jwks_uri)
        if status != 200 or not isinstance(keys, Mapping):
            raise TokenEndpointError(f"JWKS answered {status}", status_code=status)
        try:
            return PyJWKSet.from_dict(dict(keys))
        except PyJWKSetError as exc:
            raise IdTokenError("bad_jwks", "the JWKS has no usable key") from exc


def _same_origin(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def validate_id_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: datetime,
    leeway: float,
    jwks: JwksCache,
) -> IdClaims:
    """Check an id_token's signature (when keys exist) and claims; raise :class:`IdTokenError`."""
    try:
        header = jwt.get_unverified_header(token)
    except PyJWTError as exc:
        raise IdTokenError("malformed", "the id_token is not a JWT") from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise IdTokenError("bad_alg", "the id_token algorithm is not allowed")
    keys = jwks.get(issuer)
    claims = _decode(token, header, keys, jwks, issuer)
    _check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now, leeway=leeway)
    email, name = claims.get("email"), claims.get("name")
    return IdClaims(
        sub=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        signature_checked=keys is not None,
    )


def _decode(
    token: str, header: Mapping[str, object], keys: PyJWKSet | None, cache: JwksCache, issuer: str
) -> dict[str, object]:
    # Claims are checked by _check_claims (PyJWT >= 2.10 rejects Gorgias' integer `sub`).
    options = {"verify_signature": keys is not None, "verify_exp": False, "verify_iat": False,
               "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_nbf": False}
    if keys is None:
        return dict(jwt.decode(token, options=options, algorithms=list(ALLOWED_ALGORITHMS)))
    key = _pick_key(keys, header.get("kid"))
    if key is None:  # unknown kid: the issuer may have rotated; refetch once (SEC-08)
        keys = cache.get(issuer, refresh=True)
        key = _pick_key(keys, header.get("kid")) if keys else None
    if key is None:
        raise IdTokenError("unknown_kid", "no key of this issuer matches the id_token")
    try:
        return dict(jwt.decode(token, key=key, algorithms=list(ALLOWED_ALGORITHMS),
                               options=options))
    except PyJWTError as exc:
        raise IdTokenError("bad_signature", "the id_token signature is invalid") from exc


def _pick_key(keys: PyJWKSet, kid: object) -> object | None:
    usable = [k for k in keys.keys if k.public_key_use in (None, "sig")]
    if kid is None:
        return usable[0].key if len(usable) == 1 else None
    for k in usable:
        if k.key_id == kid:
            return k.key
    return None


def _check_claims(
    claims: Mapping[str, object], *, issuer: str, client_id: str, nonce: str | None,
    now: datetime, leeway: float,
) -> None:
    ts = now.timestamp()
    if claims.get("iss") != issuer:
        raise IdTokenError("bad_iss", "the id_token was issued by another server")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise IdTokenError("bad_aud", "the id_token is for another client")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise IdTokenError("bad_azp", "the id_token's authorized party is another client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or float(exp) <= ts - leeway:  # type: ignore[arg-type]
        raise IdTokenError("expired", "the id_token has expired")
    if not _number(iat):
        raise IdTokenError("missing_iat", "the id_token has no iat")
    if float(iat) > ts + leeway:  # type: ignore[arg-type]
        raise IdTokenError("iat_future", "the id_token is from the future: check NTP")
    sub = claims.get("sub")
    if sub is None or sub == "" or isinstance(sub, bool) or not isinstance(sub, str | int):
        raise IdTokenError("missing_sub", "the id_token has no subject")
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("bad_nonce", "the id_token nonce does not match this install")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
