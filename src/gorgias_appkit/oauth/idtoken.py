"""id_token validation (OIDC Core §3.1.3.7, §12.2): :class:`IdTokenVerifier`, the one check.

Signature: RS256 only (V-07); ``alg=none``, HS256 and everything else are refused before any
key is looked at, and ``jku``/``x5u``/``jwk`` headers are never read (SEC-07). Keys come from the
issuer's own discovery document (:mod:`.discovery`). Without a kid the token must verify with
one of the issuer's keys (the OIDF "kid absent" modules).

Fallback: Gorgias publishes no discovery document that we know of (gorgias-platform.md §1.9).
Then the token came over TLS straight from the token endpoint we authenticated to, so its
signature is not checked, but every claim still is (``iss``, ``aud``, ``azp``, ``exp``, ``iat``,
``nbf``, ``sub``, ``nonce``). A refreshed id_token gets the same checks plus the same subject
(REL-08).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jwt
from jwt import PyJWK
from jwt import PyJWKSet
from jwt.exceptions import PyJWTError
from jwt.types import Options

from ..core.account import Account
from ..core.account import UrlTemplate
from ..core.clock import Clock
from ..errors import IdTokenError
from .discovery import ALLOWED_ALGORITHMS
from .discovery import JwksCache
from .discovery import ProviderMetadata

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


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTokenVerifier:
    """Checks the id_tokens of this app's accounts; injected wherever one arrives."""

    urls: UrlTemplate
    client_id: str
    clock: Clock
    jwks: JwksCache
    leeway: float = 120.0

    def discovery(self, account: Account) -> ProviderMetadata | None:
        """The account's discovery document; a foreign issuer in it aborts (SEC-08)."""
        return self.jwks.metadata(self.urls.issuer(account))

    def iss_promised(self, account: Account) -> bool:
        """Whether the account's metadata says callbacks carry ``iss`` (RFC 9207)."""
        metadata = self.discovery(account)
        return metadata is not None and metadata.iss_parameter_supported

    def verify(self, token: str, *, account: Account, nonce: str) -> IdClaims:
        """Check the id_token of a code exchange (signature when keys exist, every claim)."""
        return validate_id_token(
            token,
            issuer=self.urls.issuer(account),
            client_id=self.client_id,
            nonce=nonce,
            now=self.clock.now(),
            leeway=self.leeway,
            jwks=self.jwks,
        )

    def verify_refreshed(self, token: str, *, account: Account, user_id: str | None) -> IdClaims:
        """Check an id_token from a refresh response: the same checks and the same subject."""
        return validate_refreshed_id_token(
            token,
            issuer=self.urls.issuer(account),
            client_id=self.client_id,
            user_id=user_id,
            now=self.clock.now(),
            leeway=self.leeway,
            jwks=self.jwks,
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
