"""Sans-IO OAuth 2.0 for Gorgias: URLs, request bodies, and parsing of what comes back.

No HTTP library and no framework here: every function takes plain values and returns typed
records or raises an :class:`OAuthError` subclass. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote_plus
from urllib.parse import urlencode

from ..clock import from_timestamp
from ..errors import AccessDenied
from ..errors import InvalidGrant
from ..errors import InvalidState
from ..errors import InvalidTokenResponse
from ..errors import OAuthError
from ..redact import Secret
from ..store.base import TokenSet

# Bounds on callback values: far above anything real, far below anything abusive.
_MAX_STATE = 512
_MAX_CODE = 4096
_MAX_TEXT = 1024
_MAX_JWT_EXP = timedelta(days=30)


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
    description = params.error_description or ""
    if params.error == "access_denied":
        return AccessDenied(description or "the install was declined")
    return OAuthError(description, error=_code(params.error))


def _code(value: str | None) -> str:
    # RFC 6749 error codes are %x20-21 / %x23-5B / %x5D-7E; keep a safe subset for display.
    text = "".join(ch for ch in (value or "") if ch.isalnum() or ch in "_-.")[:64]
    return text or "server_error"


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
    if not isinstance(access, str) or not access or len(access) > 16384:
        raise InvalidTokenResponse("the token response has no access_token")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise InvalidTokenResponse("the token type is not Bearer")
    refresh = body.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or len(refresh) > 4096):
        raise InvalidTokenResponse("the refresh_token is malformed")
    id_token = body.get("id_token")
    if id_token is not None and not isinstance(id_token, str):
        raise InvalidTokenResponse("the id_token is malformed")
    scope = body.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidTokenResponse("the scope is malformed")
    new_refresh = Secret(refresh) if refresh else previous_refresh_token
    tokens = TokenSet(
        access_token=Secret(access),
        refresh_token=new_refresh,
        expires_at=_expiry(access, body.get("expires_in"), sent_at, default_lifetime),
        scopes=tuple(scope.split()),
        token_type="Bearer",
    )
    rotated = bool(refresh) and previous_refresh_token is not None and (
        refresh != previous_refresh_token.reveal()
    )
    return TokenResponse(tokens=tokens, id_token=id_token or None, rotated=rotated)


def _expiry(access: str, expires_in: object, sent_at: datetime, default: float) -> datetime:
    exp = unverified_claims(access).get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        at = from_timestamp(exp)
        if sent_at < at <= sent_at + _MAX_JWT_EXP:
            return at
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        return sent_at + timedelta(seconds=min(float(expires_in), _MAX_JWT_EXP.total_seconds()))
    if isinstance(expires_in, str) and expires_in.isdigit() and int(expires_in) > 0:
        return sent_at + timedelta(seconds=min(int(expires_in), _MAX_JWT_EXP.total_seconds()))
    return sent_at + timedelta(seconds=default)


def unverified_claims(token: str) -> dict[str, object]:
    """Read a JWT's payload without checking it (used for expiry only); ``{}`` if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def parse_error_body(body: object, status_code: int) -> OAuthError:
    """Map an RFC 6749 §5.2 error body to an exception; never echo anything but the code."""
    code = body.get("error") if isinstance(body, Mapping) else None
    description = body.get("error_description") if isinstance(body, Mapping) else None
    text = description[:200] if isinstance(description, str) else ""
    if code == "invalid_grant":
        return InvalidGrant(text or "the grant was rejected")
    if isinstance(code, str) and code:
        return OAuthError(text, error=_code(code))
    return OAuthError(f"the token endpoint answered {status_code}", error="server_error")
