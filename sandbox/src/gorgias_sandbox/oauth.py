"""OAuth endpoints of every account: authorize (login + consent page), token, revoke, discovery.

The protocol work is Authlib's (see ``authserver.py``); this module owns the HTTP surface:
the consent page and its approve/deny form, the HTML error page shown instead of redirecting to
an unverified ``redirect_uri``, the RFC 9207 ``iss`` parameter (config ``send_iss``), and the
discovery document and JWKS (served only when config ``publish_jwks`` is on).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from . import tokens
from .authserver import SandboxAuthorizationServer
from .context import current_account, current_issuer, current_world
from .oauth_models import SCOPES, ClientModel

bp = Blueprint("sandbox_oauth", __name__, url_prefix="/<account>")


def _server() -> SandboxAuthorizationServer:
    server: SandboxAuthorizationServer = current_app.extensions["gorgias_sandbox.authserver"]
    return server


def _error_page(title: str, message: str, status: int = 400) -> Response:
    body = render_template("error.html", title=title, message=message)
    return Response(body, status=status, mimetype="text/html")


def account_not_found_page(domain: str) -> Response:
    """The authorize endpoint's HTML 404 for an unknown account, with a way back.

    "Back to <app>" links to the origin of the ``redirect_uri`` only when that URI is one the
    ``client_id`` may use (the same check as a real authorization), so the page never turns
    unvalidated input into a link; "Go back" is the browser's history.
    """
    world = current_world()
    back_url = _validated_origin(request.args.get("client_id"), request.args.get("redirect_uri"))
    with world.lock:
        known = ", ".join(world.accounts)
    body = render_template(
        "error.html",
        title="Account not found",
        message=f"There is no Gorgias account called {domain!r}.",
        hint=f"Accounts in this sandbox: {known}.",
        way_back=True,
        back_url=back_url,
        back_label=urlsplit(back_url).netloc if back_url else None,
    )
    return Response(body, status=404, mimetype="text/html")


def _validated_origin(client_id: str | None, redirect_uri: str | None) -> str | None:
    if not client_id or not redirect_uri:
        return None
    client = current_world().client(client_id)
    if client is None or not ClientModel(client).check_redirect_uri(redirect_uri):
        return None
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def _finish(response: Response) -> Response:
    """Add ``iss`` to redirects back to the client when config ``send_iss`` is on."""
    location = response.headers.get("Location")
    if response.status_code == 302 and location and current_world().config.send_iss:
        response.headers["Location"] = add_params_to_uri(location, [("iss", current_issuer())])
    return response


def _authorize_error(error: OAuth2Error) -> Response:
    if error.redirect_uri:  # the client and its redirect_uri were verified first
        return _finish(_server().handle_error_response(None, error))
    return _error_page(
        "Authorization request refused", f"{error.error}: {error.get_error_description()}"
    )


def _consent_grant(server: SandboxAuthorizationServer, user: dict[str, Any] | None) -> Any:
    """Authlib's validated grant for this request, or the page/redirect refusing it."""
    try:
        return server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorize_error(error)
    except ValueError:  # Authlib cannot even phrase the error (e.g. a "\\" in the URI)
        return _error_page(
            "Authorization request refused", "invalid_request: malformed client_id or redirect_uri"
        )


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize(account: str) -> Response:
    """Show the login + consent page (GET) or act on the merchant's decision (POST)."""
    world, acct, server = current_world(), current_account(), _server()
    if request.method == "GET":
        auto = world.config.auto_approve
        with world.lock:
            grant = _consent_grant(server, acct.owner() if auto else None)
            if isinstance(grant, Response):
                return grant
            if auto:
                world.count(acct.domain, "oauth.authorize.auto_approve")
                return _finish(
                    server.create_authorization_response(grant_user=acct.owner(), grant=grant)
                )
        scopes = [(s, SCOPES.get(s, s)) for s in (grant.request.scope or "").split()]
        body = render_template(
            "consent.html",
            account=acct.record,
            users=acct.users,
            selected=acct.owner(),
            app_name=grant.request.client.client.name,
            scopes=scopes,
            action=request.full_path,
        )
        return Response(body, mimetype="text/html")
    decision = request.form.get("decision")
    if decision not in ("approve", "deny"):
        return _error_page("Bad form", "decision must be approve or deny")
    user = None
    if decision == "approve":
        raw = request.form.get("user_id", "")
        user = acct.user(int(raw)) if raw.isdigit() else None
        if user is None:
            return _error_page("Bad form", "user_id must be an agent of this account")
    with world.lock:
        grant = _consent_grant(server, user)
        if isinstance(grant, Response):
            return grant
        world.count(acct.domain, f"oauth.authorize.{decision}")
        return _finish(server.create_authorization_response(grant_user=user, grant=grant))


@bp.post("/oauth/token")
def token(account: str) -> Response:
    """RFC 6749 token endpoint (authorization_code, refresh_token)."""
    with current_world().lock:
        response: Response = _server().create_token_response()
    return response


@bp.post("/oauth/revoke")
def revoke(account: str) -> Response:
    """RFC 7009 revocation endpoint."""
    with current_world().lock:
        response: Response = _server().create_endpoint_response("revocation")
    return response


def _not_published() -> Response:
    response = jsonify(error="not found")
    response.status_code = 404
    return response


@bp.get("/.well-known/openid-configuration")
def discovery(account: str) -> Response:
    """OpenID Provider metadata (only when ``publish_jwks`` is on; Gorgias has none known)."""
    cfg = current_world().config
    if not cfg.publish_jwks:
        return _not_published()
    issuer = current_issuer()
    methods = ["client_secret_basic"] + (
        ["client_secret_post"] if cfg.allow_client_secret_post else []
    )
    doc: dict[str, Any] = {
        "issuer": cfg.discovery_issuer or issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SCOPES),
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": cfg.send_iss,
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "email",
            "name",
        ],
    }
    return jsonify(doc)


@bp.get("/.well-known/jwks.json")
def jwks(account: str) -> Response:
    """The public signing key (only when ``publish_jwks`` is on)."""
    if not current_world().config.publish_jwks:
        return _not_published()
    return jsonify(tokens.jwks(current_world().config.signing_key_generation))
