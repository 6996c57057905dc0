"""id_token validation (OIDC Core §3.1.3.7, §12.2) and per-issuer discovery and JWKS.

Discovery: ``{issuer}/.well-known/openid-configuration`` is read per issuer and kept for an
hour. Its ``issuer`` must equal the expected issuer exactly and its ``jwks_uri`` must live under
the issuer's own URL, or the install aborts before the merchant is redirected (OIDC Discovery
§4.3, SEC-08). A 404, a redirect (never followed) or a page that is not JSON means "no
document"; a 5xx or 429 fails the login closed (REL-13) rather than falling back. Keys are
cached per issuer and never shared across accounts; an unknown ``kid`` refetches the issuer's
JWKS once (at most once a minute per kid), so a rotated key is picked up and a stream of bogus
kids cannot hammer the account's server.

Signature: RS256 only (V-07); ``alg=none``, HS256 and everything else are refused before any
key is looked at, and ``jku``/``x5u``/``jwk`` headers are never read (SEC-07). Without a kid the
token must verify with one of the issuer's keys (the OIDF "kid absent" modules).

Fallback: Gorgias publishes no discovery document that we know of (gorgias-platform.md §1.9).
Then the token came over TLS straight from the token endpoint we authenticated to, so its
signature is not checked, but every claim still is (``iss``, ``aud``, ``azp``, ``exp``, ``iat``,
``nbf``, ``sub``, ``nonce``).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError
from jwt.exceptions import PyJWTError
from jwt.types import Options

from ..errors import IdTokenError
from ..errors import TokenEndpointError
from .client import OAuthClient

log = logging.getLogger("gorgias_appkit.oauth")

ALLOWED_ALGORITHMS = ("RS256",)  # V-07: Gorgias signs with RS256 (gorgias-platform.md §1.6)
_JWKS_TTL = 3600.0
_KID_RETRY = 60.0
_MAX_TOKEN = 16384
# Claims are checked by _check_claims, not PyJWT (PyJWT >= 2.10 rejects Gorgias' integer sub).
_NO_CLAIM_CHECKS: Options = {
    "verify_exp": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_nbf": False,
    "verify_jti": False,
}


@dataclass(frozen=True, slots=True)
class IdClaims:
    """The identity an id_token asserts."""

    sub: str
    email: str | None
    name: str | None
    signature_checked: bool


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What an issuer's discovery document says that the kit relies on."""

    issuer: str
    jwks: PyJWKSet
    iss_parameter_supported: bool


@dataclass
class _Entry:
    metadata: ProviderMetadata | None
    fetched: float


class JwksCache:
    """Discovery documents and keys, one entry per issuer (never shared across accounts)."""

    def __init__(self, oauth: OAuthClient, *, enabled: bool = True) -> None:
        self.oauth = oauth
        self.enabled = enabled
        self._entries: dict[str, _Entry] = {}
        self._kid_tries: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def metadata(self, issuer: str, *, refresh: bool = False) -> ProviderMetadata | None:
        """Return the issuer's metadata, ``None`` when it publishes none; fail closed on errors."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(issuer)
            now = time.monotonic()
            if entry is not None and not refresh and now - entry.fetched < _JWKS_TTL:
                return entry.metadata
            metadata = self._fetch(issuer)
            self._entries[issuer] = _Entry(metadata, now)
            return metadata

    def forget(self, issuer: str | None = None) -> None:
        """Drop what is cached for ``issuer`` (all issuers by default); the next use refetches."""
        with self._lock:
            if issuer is None:
                self._entries.clear()
                self._kid_tries.clear()
            else:
                self._entries.pop(issuer, None)
                self._kid_tries = {k: t for k, t in self._kid_tries.items() if k[0] != issuer}

    def get(self, issuer: str) -> PyJWKSet | None:
        """Return the issuer's keys, ``None`` when it publishes none."""
        metadata = self.metadata(issuer)
        return metadata.jwks if metadata else None

    def refetch_for(self, issuer: str, kid: str) -> PyJWKSet | None:
        """Refetch the issuer's keys for an unknown ``kid``, at most once a minute per kid."""
        now = time.monotonic()
        with self._lock:
            last = self._kid_tries.get((issuer, kid))
            if last is not None and now - last < _KID_RETRY:
                return None
            if len(self._kid_tries) > 256:
                self._kid_tries = {k: t for k, t in self._kid_tries.items() if now - t < _KID_RETRY}
            self._kid_tries[(issuer, kid)] = now
        metadata = self.metadata(issuer, refresh=True)
        return metadata.jwks if metadata else None

    def _fetch(self, issuer: str) -> ProviderMetadata | None:
        status, doc = self.oauth.get_json(issuer + "/.well-known/openid-configuration")
        if status == 429 or status >= 500:  # the server is there but failing: fail closed
            raise TokenEndpointError(f"discovery answered {status}", status_code=status)
        if status != 200 or not isinstance(doc, Mapping):
            # 404, a login redirect (never followed), an HTML page: no discovery document.
            log.info(
                "no discovery document (status %d): id_token signatures cannot be checked",
                status,
                extra={"event": "no_discovery"},
            )
            return None
        if doc.get("issuer") != issuer:
            raise IdTokenError("discovery_issuer_mismatch", "discovery names another issuer")
        jwks_uri = doc.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _under(jwks_uri, issuer):
            raise IdTokenError("bad_jwks_uri", "jwks_uri is not on the issuer's own URL")
        status, keys = self.oauth.get_json(jwks_uri)
        if status != 200 or not isinstance(keys, Mapping):
            raise TokenEndpointError(f"JWKS answered {status}", status_code=status)
        return ProviderMetadata(
            issuer=issuer,
            jwks=_key_set(keys),
            iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
        )


def _key_set(document: Mapping[str, object]) -> PyJWKSet:
    """Keep the RSA signing keys of a JWKS document; refuse a set with none."""
    raw = document.get("keys")
    usable = [
        k
        for k in (raw if isinstance(raw, list) else [])
        if isinstance(k, dict)
        and k.get("kty") == "RSA"
        and k.get("use") in (None, "sig")
        and k.get("alg") in (None, *ALLOWED_ALGORITHMS)
    ]
    try:
        return PyJWKSet(usable)
    except (PyJWKSetError, PyJWTError) as exc:
        raise IdTokenError("bad_jwks", "the JWKS has no usable key") from exc


def _under(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and a.path.startswith(
        b.path.rstrip("/") + "/"
    )


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
    header = _header(token)
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


def validate_refreshed_id_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    user_id: str | None,
    now: datetime,
    leeway: float,
    jwks: JwksCache,
) -> IdClaims:
    """Check an id_token from a refresh response (OIDC Core §12.2, REL-08).

    Everything :func:`validate_id_token` checks (the same ``iss``, ``aud`` and ``azp`` rules,
    a present ``iat``), and the same subject as the installation's.
    """
    claims = validate_id_token(
        token, issuer=issuer, client_id=client_id, nonce=None, now=now, leeway=leeway, jwks=jwks
    )
    if user_id is not None and claims.sub != user_id:
        raise IdTokenError("refresh_sub_changed", "the refreshed id_token names another user")
    return claims


def _header(token: str) -> Mapping[str, object]:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 2:
        raise IdTokenError("malformed", "the id_token is not a JWT")
    try:
        header = jwt.get_unverified_header(token)
    except (PyJWTError, ValueError, RecursionError) as exc:
        raise IdTokenError("malformed", "the id_token is not a JWT") from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise IdTokenError("bad_alg", "the id_token algorithm is not allowed")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension
        raise IdTokenError("bad_header", "the id_token has critical header extensions")
    return header


def _decode(
    token: str, header: Mapping[str, object], keys: PyJWKSet | None, cache: JwksCache, issuer: str
) -> dict[str, object]:
    if keys is None:
        return _payload(token, None)
    kid = header.get("kid")
    if kid is None:  # OIDF kid-absent: one of the issuer's keys must verify it
        for candidate in keys.keys:
            try:
                return _payload(token, candidate)
            except IdTokenError:
                continue
        raise IdTokenError("bad_signature", "the id_token signature is invalid")
    if not isinstance(kid, str):
        raise IdTokenError("malformed", "the id_token kid is not a string")
    key = _find(keys, kid)
    if key is None:  # the issuer may have rotated its keys: refetch once (SEC-08)
        refreshed = cache.refetch_for(issuer, kid)
        key = _find(refreshed, kid) if refreshed else None
    if key is None:
        raise IdTokenError("unknown_kid", "no key of this issuer matches the id_token")
    return _payload(token, key)


def _find(keys: PyJWKSet, kid: str) -> PyJWK | None:
    return next((k for k in keys.keys if k.key_id == kid), None)


def _payload(token: str, key: PyJWK | None) -> dict[str, object]:
    options: Options = {
        **_NO_CLAIM_CHECKS,
        "verify_signature": key is not None,
        "enforce_minimum_key_length": True,
    }
    try:
        if key is None:
            return dict(jwt.decode(token, options=options, algorithms=list(ALLOWED_ALGORITHMS)))
        return dict(
            jwt.decode(token, key=key, algorithms=list(ALLOWED_ALGORITHMS), options=options)
        )
    except (PyJWTError, ValueError, RecursionError) as exc:
        reason = "bad_signature" if key is not None else "malformed"
        raise IdTokenError(reason, "the id_token signature is invalid") from exc


def _check_claims(
    claims: Mapping[str, object],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: datetime,
    leeway: float,
) -> None:
    ts = now.timestamp()
    if claims.get("iss") != issuer:
        raise IdTokenError("bad_iss", "the id_token was issued by another server")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not audiences or any(a != client_id for a in audiences):  # no untrusted extra audience
        raise IdTokenError("bad_aud", "the id_token is for another client")
    if "azp" in claims and claims["azp"] != client_id:
        raise IdTokenError("bad_azp", "the id_token's authorized party is another client")
    exp, iat, nbf = _time(claims, "exp"), _time(claims, "iat"), _time(claims, "nbf")
    if exp is None or exp <= ts - leeway:
        raise IdTokenError("expired", "the id_token has expired")
    if iat is None:
        raise IdTokenError("missing_iat", "the id_token has no iat")
    if iat > ts + leeway:
        raise IdTokenError("iat_future", "the id_token is from the future: check NTP")
    if nbf is not None and nbf > ts + leeway:
        raise IdTokenError("not_yet_valid", "the id_token is not valid yet: check NTP")
    sub = claims.get("sub")
    if not (isinstance(sub, str) and 0 < len(sub) <= 255) and not _integer(sub):
        raise IdTokenError("missing_sub", "the id_token has no subject")
    if nonce is not None and not _same(claims.get("nonce"), nonce):
        raise IdTokenError("bad_nonce", "the id_token nonce does not match this install")


def _time(claims: Mapping[str, object], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < 1e15 else None
    return number if number is not None and number == number else None


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18


def _same(value: object, expected: str) -> bool:
    return isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())
