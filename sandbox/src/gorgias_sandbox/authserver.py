"""Authlib glue: the OAuth 2.0 / OIDC authorization server the sandbox runs for every account.

Authlib does the protocol (``AuthorizationServer``, ``AuthorizationCodeGrant``,
``RefreshTokenGrant``, ``rfc7636.CodeChallenge``, ``rfc7009.RevocationEndpoint``,
``oidc.core.OpenIDCode``); this module adapts it to the :class:`World`. Written by hand, where
Authlib does not fit:

* the per-account issuer and state (read from the request path, see ``context.py``);
* strict RFC 6749 §2.3.1 Basic client auth and plain-HTTP requests (``oauth_models.py``);
* Gorgias quirks: ``expires_in`` 0/absent, no ``refresh_token`` on refresh unless rotating,
  integer ``sub``, an opaque refresh token only with ``offline``;
* code-replay and refresh-token-reuse revocation, the reuse grace window, id_token tampering.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from flask import Flask
from flask import request as flask_request

from . import tokens
from .context import current_account, current_issuer, current_world
from .grants import AccessTokenRecord, AuthCode, RefreshTokenRecord
from .oauth_models import (
    SCOPES,
    ClientModel,
    CodeModel,
    SandboxRequest,
    TokenModel,
    authenticate_basic,
)


def build_id_token(
    client: ClientModel,
    user: dict[str, Any],
    scope: str,
    nonce: str | None,
    access_token: str | None,
) -> str:
    """Mint an id_token for ``user``, tampered as the config says."""
    cfg = current_world().config
    claims = tokens.id_token_claims(
        issuer=current_issuer(),
        client_id=client.get_client_id(),
        user=user,
        scope=scope,
        nonce=nonce,
        ttl=cfg.id_token_ttl,
        access_token=access_token,
        with_azp=cfg.id_token_azp,
    )
    return tokens.mint_id_token(
        claims, cfg.id_token_tamper, client.client.client_secret, cfg.signing_key_generation
    )


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only (``plain``, explicit or implied, is refused); optionally required."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if not challenge and not method and current_world().config.require_pkce:
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if challenge and (method or "plain") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class GorgiasOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """Adds the id_token when ``openid`` was granted, signed (or tampered) by ``tokens``."""

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # Gorgias is not known to reject repeated nonces

    def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
        return build_id_token(
            request.client,
            request.user,
            token["scope"],
            request.authorization_code.get_nonce(),
            token["access_token"],
        )


class GorgiasCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization code grant bound to account, client, redirect_uri, nonce and PKCE."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        world, data, now = current_world(), request.payload.data, time.time()
        world.store.add_code(
            AuthCode(
                code=code,
                account=current_account().domain,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                user_id=request.user["id"],
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                issued_at=now,
                expires_at=now + world.config.code_ttl,
            )
        )

    def query_authorization_code(self, code: str, client: ClientModel) -> CodeModel | None:
        world = current_world()
        record = world.store.codes.get(code)
        if (
            record is None
            or record.account != current_account().domain
            or record.client_id != client.get_client_id()
        ):
            return None
        if record.used_at is not None:  # replay: RFC 6749 §4.1.2, revoke what it issued
            world.count(record.account, "oauth.code_replay")
            if record.grant_id:
                world.store.revoke_grant(
                    world.store.grants[record.grant_id], "code_replay", access_tokens=True
                )
            return None
        return CodeModel(record) if record.expires_at > time.time() else None

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        authorization_code.record.used_at = time.time()

    def authenticate_user(self, authorization_code: CodeModel) -> dict[str, Any] | None:
        return current_account().user(authorization_code.record.user_id)


class GorgiasRefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Refresh grant with optional rotation, reuse detection and a reuse grace window."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_refresh_token(self, refresh_token: str) -> TokenModel | None:
        world = current_world()
        store, cfg = world.store, world.config
        record = store.refresh.get(refresh_token)
        if record is None:
            world.count(current_account().domain, "oauth.refresh.unknown_token")
            return None
        grant = store.grant_of(record)
        if grant.account != current_account().domain:
            return None
        if grant.client_id != self.request.client.get_client_id():
            store.log_refresh(grant, record, "wrong_client")
            return None
        if grant.status != "active" or record.status == "revoked":
            store.log_refresh(grant, record, "revoked")
            return None
        if record.status == "current":
            store.log_refresh(grant, record, "ok")
            return TokenModel(record, grant)
        age = time.time() - (record.superseded_at or 0.0)
        if cfg.reuse_grace_seconds and age <= cfg.reuse_grace_seconds:
            store.log_refresh(grant, record, "grace")
            return TokenModel(record, grant, grace=True)
        if cfg.reuse_detection:
            store.log_refresh(grant, record, "reuse_detected")
            world.count(grant.account, "oauth.refresh.reuse_detected")
            store.revoke_grant(grant, "refresh_token_reuse", access_tokens=True)
        else:
            store.log_refresh(grant, record, "superseded")
        return None

    def authenticate_user(self, refresh_token: TokenModel) -> dict[str, Any] | None:
        return current_account().user(refresh_token.grant.user_id)

    def issue_token(self, user: dict[str, Any], refresh_token: TokenModel) -> dict[str, Any]:
        scope = self.request.payload.scope or refresh_token.get_scope()
        rotate = current_world().config.rotate_refresh_tokens and not refresh_token.grace
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=rotate
        )
        self.rotated = "refresh_token" in token
        current = refresh_token.grant.current_refresh_token
        if refresh_token.grace and current is not None:
            token["refresh_token"] = current.token  # the racer gets the winner's token
        return token

    def revoke_old_credential(self, refresh_token: TokenModel) -> None:
        if getattr(self, "rotated", False) and isinstance(refresh_token.record, RefreshTokenRecord):
            current_world().store.supersede(refresh_token.record)

    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        status, token, headers = super().create_token_response()
        if current_world().config.id_token_on_refresh and "openid" in token["scope"].split():
            token["id_token"] = build_id_token(
                self.request.client, self.request.user, token["scope"], None, token["access_token"]
            )
        return status, token, headers


class GorgiasRevocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009 revocation: a refresh token ends its grant; unknown tokens still get 200."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenModel | None:
        store = current_world().store
        found: list[RefreshTokenRecord | AccessTokenRecord | None] = [
            store.refresh.get(token_string),
            store.access.get(token_string),
        ]
        if token_type_hint == "access_token":  # noqa: S105 - a hint name, not a secret
            found.reverse()
        record = next((r for r in found if r is not None), None)
        if record is None or store.grant_of(record).account != current_account().domain:
            return None
        return TokenModel(record, store.grant_of(record))

    def revoke_token(self, token: TokenModel, request: OAuth2Request) -> None:
        world = current_world()
        if isinstance(token.record, RefreshTokenRecord):
            world.store.revoke_grant(
                token.grant,
                "revoked_by_client",
                access_tokens=world.config.revoke_access_tokens_on_revoke,
            )
        else:
            token.record.revoked = True


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Flask ``AuthorizationServer`` whose storage is the app's :class:`World`."""

    def create_oauth2_request(self, request: Any) -> SandboxRequest:
        return SandboxRequest(flask_request)

    def query_client(self, client_id: str) -> ClientModel | None:
        client = current_world().client(client_id)
        return ClientModel(client) if client else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        store, meta = current_world().store, token.pop("_sandbox")
        if isinstance(request.refresh_token, TokenModel):
            grant = request.refresh_token.grant
        else:
            grant = store.new_grant(request.authorization_code.record)
        store.add_access_token(
            grant, token["access_token"], meta["jti"], token["scope"], meta["ttl"]
        )
        if meta["new_refresh"] and "refresh_token" in token:
            store.add_refresh_token(grant, token["refresh_token"])


def generate_token(
    grant_type: str,
    client: ClientModel,
    user: dict[str, Any] | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """Token generator: RS256 JWT (or opaque) access token, Gorgias' ``expires_in`` quirk."""
    cfg, scope = current_world().config, scope or ""
    assert user is not None  # noqa: S101 - Authlib always passes the user for these grants
    if cfg.access_token_format == "jwt":  # noqa: S105 - a format name
        access, claims = tokens.mint_access_token(
            issuer=current_issuer(),
            account=current_account().domain,
            client_id=client.get_client_id(),
            user_id=user["id"],
            scope=scope,
            ttl=cfg.access_token_ttl,
        )
        jti = claims["jti"]
    else:
        access, jti = secrets.token_urlsafe(30), "opaque-" + secrets.token_hex(8)
    token: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
    if cfg.expires_in_mode != "absent":
        token["expires_in"] = 0 if cfg.expires_in_mode == "zero" else cfg.access_token_ttl
    token["scope"] = scope
    new_refresh = include_refresh_token and "offline" in scope.split()
    if new_refresh:
        token["refresh_token"] = secrets.token_urlsafe(36)  # 48 characters, opaque
    token["_sandbox"] = {"jti": jti, "ttl": cfg.access_token_ttl, "new_refresh": new_refresh}
    return token


def create_authorization_server(app: Flask) -> SandboxAuthorizationServer:
    """Build the server with the sandbox's grants, extensions and client authentication."""
    server = SandboxAuthorizationServer()
    server.init_app(app)
    server.scopes_supported = list(SCOPES)
    server.register_token_generator("default", generate_token)
    server.register_client_auth_method("client_secret_basic", authenticate_basic)
    server.register_grant(
        GorgiasCodeGrant, [S256CodeChallenge(required=False), GorgiasOpenIDCode()]
    )
    server.register_grant(GorgiasRefreshGrant)
    server.register_endpoint(GorgiasRevocation)
    return server
