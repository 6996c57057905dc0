"""REST API plumbing: the guard in front of every view (rate limit, Bearer auth, scopes) and
the response helpers (error shape, list envelope, 201/404).

Order: the account's leaky bucket (429 with ``Retry-after``), then the Bearer token (401 for a
missing, query-string, bad, expired, foreign-account or revoked token), then the scope the
route needs (403). Every API response gets ``X-Gorgias-Account-Api-Call-Limit: used/limit``.
Error bodies follow config ``error_body_shape``: ``{"error": {"msg", "data"}}`` or
``{"error": "..."}``.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from flask import Response, g, jsonify, request

from . import tokens
from .context import current_account, current_world
from .pagination import PaginationError, paginate

RESOURCES = {
    "account": "account",
    "tickets": "tickets",
    "customers": "customers",
    "users": "users",
    "integrations": "integrations",
    "widgets": "integrations",
}


def api_error(status: int, msg: str, data: Any = None) -> Response:
    """An API error response in the configured body shape."""
    if current_world().config.error_body_shape == "string":
        body: dict[str, Any] = {"error": msg}
    else:
        body = {"error": {"msg": msg}}
        if data is not None:
            body["error"]["data"] = data
    response = jsonify(body)
    response.status_code = status
    return response


def list_response(items: list[dict[str, Any]], uri: str, **kwargs: Any) -> Response:
    """One page of ``items`` in the list envelope, or 400 for bad pagination parameters."""
    try:
        body = paginate(items, uri, request.args, ttl=current_world().config.cursor_ttl, **kwargs)
    except PaginationError as exc:
        return api_error(400, str(exc))
    return jsonify(body)


def created(obj: dict[str, Any]) -> Response:
    """201 with ``obj``."""
    response = jsonify(obj)
    response.status_code = 201
    return response


def json_body() -> dict[str, Any] | None:
    """The request's JSON object body, or None."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def not_found() -> Response:
    return api_error(404, "Resource not found")


def _claims_for(token: str) -> dict[str, Any] | None:
    """Verify a JWT (or look up an opaque token) for the current account."""
    world, domain = current_world(), current_account().domain
    store, leeway = world.store, world.config.token_leeway
    if tokens.looks_like_jwt(token):
        try:
            claims = tokens.verify_access_token(token, leeway)
        except jwt.PyJWTError:
            return None
        if claims.get("account") != domain:
            return None
        with world.lock:
            record = store.by_jti.get(str(claims.get("jti")))
            if record is not None and record.revoked:
                return None
        return claims
    with world.lock:
        record = store.access.get(token)
        if record is None or record.revoked or record.expires_at + leeway < time.time():
            return None
        grant = store.grant_of(record)
        if grant.account != domain:
            return None
        return {"sub": grant.user_id, "scope": record.scope, "client_id": grant.client_id}


def required_scope() -> str | None:
    """The scope the current API route needs (``None`` for unknown routes)."""
    rest = request.path.split("/api/", 1)[-1]
    resource = RESOURCES.get(rest.split("/", 1)[0])
    if resource is None:
        return None
    return f"{resource}:{'read' if request.method in ('GET', 'HEAD') else 'write'}"


def guard() -> Response | None:
    """``before_request`` of the API blueprint."""
    world, domain = current_world(), current_account().domain
    bucket = world.bucket(domain)
    if world.config.rate_limit_enabled:
        g.sandbox_rate = decision = bucket.acquire()
        if not decision.allowed:
            world.count(domain, "api.429")
            return api_error(429, "Too many requests")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if "access_token" in request.args or scheme.lower() != "bearer" or not token.strip():
        return api_error(401, "Unauthorized")
    claims = _claims_for(token.strip())
    if claims is None:
        return api_error(401, "Unauthorized")
    g.sandbox_claims = claims
    granted = set(str(claims.get("scope", "")).split())
    needed = required_scope()
    if needed and needed not in granted and "write:all" not in granted:
        return api_error(403, f"Forbidden: this token lacks the {needed} scope")
    return None


def add_headers(response: Response) -> Response:
    """``after_request`` of the API blueprint: the call-limit header (and Retry-after)."""
    world = current_world()
    account = g.get("sandbox_account")
    if account is None:
        return response
    decision = g.get("sandbox_rate") or world.bucket(account.domain).peek()
    response.headers["X-Gorgias-Account-Api-Call-Limit"] = f"{decision.used}/{decision.limit}"
    if "Retry-After" not in response.headers:
        if not decision.allowed:
            response.headers["Retry-after"] = str(decision.retry_after)
        elif world.config.always_send_retry_after:
            response.headers["Retry-after"] = "0"
    return response
