"""The Flask app factory and the per-request pipeline every ``/{account}/...`` request goes through.

Pipeline (before the view): find the account named in the path (404 if unknown), count the
request under its endpoint name, then apply the first matching fault rule (``status`` and
``redirect`` answer here, ``delay`` sleeps here, the others are marked for
:class:`~gorgias_sandbox.faultwsgi.FaultMiddleware`). Counter names, per account:
``oauth.authorize`` (+ ``oauth.authorize.approve|deny|auto_approve``), ``oauth.token``
(+ ``oauth.token.authorization_code|refresh_token|unsupported``), ``oauth.revoke``,
``oauth.discovery``, ``oauth.jwks``, ``api.<METHOD> <route>`` (e.g. ``api.GET /api/tickets``,
``api.PUT /api/tickets/<id>``), ``api.429``, ``oauth.code_replay``,
``oauth.refresh.reuse_detected``, ``oauth.refresh.unknown_token`` and ``fault.<mode>``; from
HTTP-integration deliveries (``deliveries.py``): ``integration.delivery``,
``integration.delivery.ok|timeout|connect|error``, ``integration.deactivated`` and
``integration.dropped``. ``/_sandbox/*`` and the ticket pages (``/{account}/tickets``) are not
counted and never faulted.
"""

from __future__ import annotations

import re
import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import api, control, control_integrations, oauth, ticket_pages
from .authserver import create_authorization_server
from .config import SandboxConfig
from .context import EXTENSION_KEY, current_world
from .faults import FaultRule, default_body
from .faultwsgi import FaultMiddleware, mark_fault
from .world import World

SERVER_KEY = "gorgias_sandbox.authserver"
_OAUTH_NAMES = {
    "sandbox_oauth.authorize": "oauth.authorize",
    "sandbox_oauth.token": "oauth.token",
    "sandbox_oauth.revoke": "oauth.revoke",
    "sandbox_oauth.discovery": "oauth.discovery",
    "sandbox_oauth.jwks": "oauth.jwks",
}
_KNOWN_GRANTS = ("authorization_code", "refresh_token")


def create_sandbox(config: SandboxConfig | None = None) -> Flask:
    """Create the sandbox Flask app (its :class:`World` is ``world_of(app)``)."""
    app = Flask("gorgias_sandbox", template_folder="templates")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = World(config)
    app.extensions[SERVER_KEY] = create_authorization_server(app)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_integrations.bp)
    app.register_blueprint(ticket_pages.bp)
    app.before_request(_pipeline)
    app.register_error_handler(HTTPException, _http_error)
    app.wsgi_app = FaultMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def world_of(app: Flask) -> World:
    """The :class:`World` behind a sandbox app."""
    world: World = app.extensions[EXTENSION_KEY]
    return world


def endpoint_name() -> str:
    """The counter name of the current request."""
    endpoint = request.endpoint or ""
    if endpoint in _OAUTH_NAMES:
        return _OAUTH_NAMES[endpoint]
    if endpoint == "sandbox_api.unknown" or request.url_rule is None:
        return f"api.{request.method} <unknown>"
    route = request.url_rule.rule.removeprefix("/<account>")
    return f"api.{request.method} " + re.sub(r"<(?:[^:>]+:)?[^>]+>", "<id>", route)


def _pipeline() -> Response | None:
    args = request.view_args or {}
    if request.blueprint not in ("sandbox_oauth", "sandbox_api") or "account" not in args:
        return None
    world, domain = current_world(), str(args["account"])
    account = world.account(domain)
    if account is None:
        if request.endpoint == "sandbox_oauth.authorize":
            return oauth.account_not_found_page(domain)
        response = jsonify(error="account not found")
        response.status_code = 404
        return response
    g.sandbox_account = account
    name = endpoint_name()
    world.count(domain, name)
    grant_type = None
    if name == "oauth.token":
        grant_type = request.form.get("grant_type")
        label = grant_type if grant_type in _KNOWN_GRANTS else "unsupported"
        world.count(domain, f"oauth.token.{label}")
    rule = world.take_fault(
        domain, request.path.removeprefix("/" + domain), request.method, grant_type
    )
    return _apply_fault(world, domain, rule) if rule else None


def _apply_fault(world: World, domain: str, rule: FaultRule) -> Response | None:
    world.count(domain, f"fault.{rule.mode}")
    if rule.mode == "delay":
        time.sleep(rule.delay_ms / 1000)
        return None
    if rule.mode in ("delay_after", "trickle", "drop_after"):
        mark_fault(request.environ, rule)  # act now; FaultMiddleware handles the answer
        return None
    if rule.mode == "drop_before":
        mark_fault(request.environ, rule)
        return Response(status=204)
    if rule.mode == "redirect":
        return Response(status=rule.status or 307, headers={"Location": rule.location or "/"})
    body = default_body(rule, request.blueprint == "sandbox_api", world.config.error_body_shape)
    response = jsonify(body) if not isinstance(body, str) else Response(body)
    response.status_code = rule.status or 503
    if rule.retry_after is not None:
        response.headers["Retry-After"] = str(rule.retry_after)
    return response


def _http_error(error: HTTPException) -> Response:
    response = jsonify(error=(error.description or error.name))
    response.status_code = error.code or 500
    return response
