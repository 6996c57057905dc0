"""Sans-IO OAuth 2.0 for Gorgias: URLs, request bodies, and parsing of what comes back.

No HTTP library and no framework here: every function takes plain values and returns typed
records or raises an :class:`OAuthError` subclass. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote_plus
from urllib.parse import urlencode

from ..core.clock import from_timestamp
from ..core.records import TokenSet
from ..core.secret import MASK
from ..core.secret import SCRUBBER
from ..core.secret import Secret
from ..errors import AccessDenied
from ..errors import InvalidGrant
from ..errors import InvalidState
from ..errors import InvalidTokenResponse
from ..errors import OAuthError

# Bounds on callback values: far above anything real, far below anything abusive.
_MAX_STATE = 512
_MAX_CODE = 4096
_MAX_TEXT = 1024
_MAX_JWT_EXP = timedelta(days=30)
# Codes, tokens and verifiers are long runs of these characters; prose words are not.
_OPAQUE = re.compile(r"[A-Za-z0-9._~+/=-]{20,}")
# Parameters that must not be repeated in a callback (RFC 6749 §3.1).
_SINGLE = ("state", "code", "iss", "error", "error_description", "error_uri")


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    state: str,
    nonce: str,
    code_challenge: str,
) -> str:
    """Build the authorize redirect (gorgias-platform.md §1.4; RFC 7636 S256)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{endpoint}?{query}"


def new_code_verifier() -> str:
    """Return a fresh PKCE verifier: 64 chars of ``[A-Za-z0-9_-]``, 384 bits (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(48)


def s256_challenge(verifier: str) -> str:
    """Return the S256 code challenge of ``verifier``: BASE64URL(SHA256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_auth_header(client_id: str, client_secret: Secret) -> str:
    """Return the HTTP Basic value of RFC 6749 §2.3.1: form-encode each part, then base64."""
    raw = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret.reveal(), safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


@dataclass(frozen=True, slots=True)
class CallbackParams:
    """The callback's query string, checked for shape only."""

    state: str | None
    code: Secret | None
    iss: str | None
    error: str | None
    error_description: str | None


def callback_query(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collapse the callback's query pairs into a mapping; a repeated OAuth parameter is refused.

    RFC 6749 §3.1: parameters "MUST NOT be included more than once"; taking the first or the
    last of two ``state``/``code``/``iss`` values would let a hostile link choose which one wins.
    """
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query and name in _SINGLE:
            raise InvalidState(f"the callback repeats the {name!r} parameter")
        query.setdefault(name, value)
    return query


def parse_callback(query: Mapping[str, str]) -> CallbackParams:
    """Read the callback parameters (RFC 6749 §4.1.2, RFC 9207); shape errors are InvalidState."""

    def one(name: str, limit: int) -> str | None:
        value = query.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > limit or not value.isprintable():
            raise InvalidState(f"the callback's {name!r} parameter is malformed")
        return value

    code = one("code", _MAX_CODE)
    return CallbackParams(
        state=one("state", _MAX_STATE),
        code=Secret(code) if code else None,
        iss=one("iss", _MAX_TEXT),
        error=one("error", 64),
        error_description=one("error_description", _MAX_TEXT),
    )


def callback_error(params: CallbackParams) -> OAuthError:
    """Map an ``error`` callback to the matching exception (the description is shown escaped)."""
    description = _text(params.error_description or "")
    if params.error == "access_denied":
        return AccessDenied(description or "the install was declined")
    return OAuthError(description, error=_code(params.error))


def _code(value: str | None) -> str:
    # RFC 6749 error codes are %x20-21 / %x23-5B / %x5D-7E; keep a safe subset for display.
    text = "".join(ch for ch in (value or "") if ch.isascii() and (ch.isalnum() or ch in "_-."))
    return text[:64] or "server_error"


def _text(value: str, limit: int = 200) -> str:
    # Attacker-controlled prose (error_description): one printable line, bounded, and with every
    # long opaque word masked, in case the server echoes the code or a token it was sent (found
    # by test_secret_hygiene: a peer that quotes the code back). Pages escape the rest.
    line = "".join(ch if ch.isprintable() else " " for ch in value[:limit]).strip()
    return _OPAQUE.sub(MASK, SCRUBBER.scrub(line))


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A parsed token endpoint response."""

    tokens: TokenSet
    id_token: str | None
    rotated: bool


def parse_token_response(
    body: object,
    *,
    sent_at: datetime,
    default_lifetime: float,
    previous_refresh_token: Secret | None = None,
) -> TokenResponse:
    """Turn a 200 token response into a :class:`TokenSet` (SEC-15, REL-02, REL-07).

    Expiry comes from the access token's JWT ``exp`` when it is a JWT, else ``expires_in`` when
    positive, else ``default_lifetime`` (Gorgias sends ``expires_in: 0``). It is counted from
    ``sent_at``, the moment the request left, never from the server's clock.
    A response without ``refresh_token`` keeps ``previous_refresh_token`` (RFC 6749 §6).
    """
    if not isinstance(body, Mapping):
        raise InvalidTokenResponse("the token response is not a JSON object")
    access = body.get("access_token")
    if not isinstance(access, str) or not _vschar(
        access, 16384
    ):  # RFC 6749 A.12: access-token = 1*VSCHAR
        raise InvalidTokenResponse("the token response has no usable access_token")
    token_type = body.get("token_type")  # REQUIRED (RFC 6749 §5.1); Gorgias sends "Bearer"
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise InvalidTokenResponse("the token type is not Bearer")
    refresh = body.get("refresh_token")
    if refresh is not None and (
        not isinstance(refresh, str) or not _vschar(refresh, 4096)
    ):  # RFC 6749 A.17
        raise InvalidTokenResponse("the refresh_token is malformed")
    id_token = body.get("id_token")
    if id_token is not None and (not isinstance(id_token, str) or not _vschar(id_token, 16384)):
        raise InvalidTokenResponse("the id_token is malformed")
    scope = body.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidTokenResponse("the scope is malformed")
    new_refresh = Secret(refresh) if isinstance(refresh, str) else previous_refresh_token
    tokens = TokenSet(
        access_token=Secret(access),
        refresh_token=new_refresh,
        expires_at=_expiry(access, body.get("expires_in"), sent_at, default_lifetime),
        scopes=tuple(scope.split()),
        token_type="Bearer",  # noqa: S106 - the token type's name, not a secret
    )
    rotated = (
        bool(refresh)
        and previous_refresh_token is not None
        and (refresh != previous_refresh_token.reveal())
    )
    return TokenResponse(tokens=tokens, id_token=id_token or None, rotated=rotated)


def _expiry(access: str, expires_in: object, sent_at: datetime, default: float) -> datetime:
    # Every number is range-checked before it becomes a datetime: a hostile 1e308, NaN or a
    # 5,000-digit string must give the default, not an OverflowError (found by fuzzing).
    start, longest = sent_at.timestamp(), _MAX_JWT_EXP.total_seconds()
    exp = _seconds(unverified_claims(access).get("exp"))
    if exp is not None and start < exp <= start + longest:
        return from_timestamp(exp)
    lifetime = _seconds(expires_in)
    if lifetime is not None and lifetime > 0:
        return sent_at + timedelta(seconds=min(lifetime, longest))
    return sent_at + timedelta(seconds=default)


def _seconds(value: object) -> float | None:
    """A finite number of seconds from a JSON number or a short decimal string, else ``None``."""
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 12:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > 10**12:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _vschar(value: str, limit: int) -> bool:
    # Visible ASCII only (%x21-7E): nothing that could split a header or a log line.
    return 0 < len(value) <= limit and value.isascii() and value.isprintable() and " " not in value


def unverified_claims(token: str) -> dict[str, object]:
    """Read a JWT's payload without checking it (used for expiry only); ``{}`` if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    if len(parts[1]) > 16384:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def parse_error_body(body: object, status_code: int) -> OAuthError:
    """Map an RFC 6749 §5.2 error body to an exception; never echo anything but the code."""
    code = body.get("error") if isinstance(body, Mapping) else None
    description = body.get("error_description") if isinstance(body, Mapping) else None
    text = _text(description) if isinstance(description, str) else ""
    if code == "invalid_grant":
        return InvalidGrant(text or "the grant was rejected")
    if isinstance(code, str) and code:
        return OAuthError(text, error=_code(code))
    return OAuthError(f"the token endpoint answered {status_code}", error="server_error")
