"""Authlib model adapters: views of sandbox records that Authlib's grants and endpoints expect.

Owns the scope catalogue (with the one-line descriptions the consent page shows), the request
wrapper that lets Authlib serve plain HTTP on any host (Authlib only allows http on loopback),
the client / authorization code / token adapters, and HTTP Basic client authentication decoded
strictly per RFC 6749 §2.3.1: base64, then *form*-urldecoding of id and secret, so ``+`` means
a space. Authlib's own decoder uses ``unquote`` and would accept a raw ``+`` in a secret.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote_plus

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request

from .context import current_world
from .grants import AccessTokenRecord, AuthCode, Grant, RefreshTokenRecord
from .redirects import redirect_uri_allowed
from .world import Client

SCOPES: dict[str, str] = {
    "openid": "Sign you in with your Gorgias identity",
    "email": "See your e-mail address",
    "profile": "See your name and basic profile",
    "offline": "Keep access when you are not using the app (refresh token)",
    "write:all": "Read and change everything you can (legacy scope)",
}
for _res, _what in [
    ("account", "account information and settings"),
    ("users", "helpdesk users (agents)"),
    ("customers", "customers and their data"),
    ("tickets", "tickets, messages and views"),
    ("custom_fields", "custom field definitions"),
    ("events", "change events"),
    ("integrations", "HTTP integrations and widgets"),
    ("jobs", "bulk jobs"),
    ("macros", "macros"),
    ("rules", "rules"),
    ("satisfaction_survey", "satisfaction surveys"),
    ("tags", "tags"),
    ("apps", "apps"),
]:
    SCOPES[f"{_res}:read"] = f"Read {_what}"
    SCOPES[f"{_res}:write"] = f"Create, change and delete {_what}"
SCOPES["statistics:read"] = "Read support statistics"


class SandboxRequest(FlaskOAuth2Request):  # type: ignore[misc]
    """Flask OAuth2 request without Authlib's https-only check (the sandbox is plain HTTP)."""

    def __init__(self, request: Any) -> None:
        OAuth2Request.__init__(
            self, request.method, "https://sandbox.invalid/", headers=request.headers
        )
        self.uri = request.url
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


class ClientModel:
    """Authlib ``ClientMixin`` view of a registered :class:`Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # Gorgias requires redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return " ".join(dict.fromkeys(scope.split())) if scope and scope.strip() else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        mode = current_world().config.redirect_uri_match
        return redirect_uri_allowed(redirect_uri, self.client.redirect_uris, mode)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == "client_secret_post":
            return current_world().config.allow_client_secret_post
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class CodeModel:
    """Authlib ``AuthorizationCodeMixin`` view of an :class:`AuthCode`."""

    def __init__(self, record: AuthCode) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return int(self.record.issued_at)

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class TokenModel:
    """Authlib token view of a refresh or access token record and its grant."""

    def __init__(
        self, record: RefreshTokenRecord | AccessTokenRecord, grant: Grant, grace: bool = False
    ) -> None:
        self.record, self.grant, self.grace = record, grant, grace

    def check_client(self, client: ClientModel) -> bool:
        return self.grant.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.grant.scope


def authenticate_basic(query_client: Any, request: OAuth2Request) -> ClientModel | None:
    """``client_secret_basic`` per RFC 6749 §2.3.1: base64, then form-urldecode id and secret."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        return None
    client: ClientModel | None = query_client(unquote_plus(raw_id))
    if client is None:
        raise InvalidClientError(status_code=401, description="Unknown client.")
    return client if client.check_client_secret(unquote_plus(raw_secret)) else None
