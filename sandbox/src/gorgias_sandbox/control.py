"""The control API under ``/_sandbox/`` (JSON in and out, no auth: a loopback dev tool).

Routes: ``GET health``, ``GET stats``, ``POST reset``, ``GET|PATCH config``,
``GET|POST|DELETE faults``, ``GET grants[?account=]``, ``GET|POST accounts``,
``POST accounts/<account>/revoke``, ``POST accounts/<account>/drain`` ``{"requests": N}``,
``GET accounts/<account>/objects``, ``GET|POST clients``. The HTTP-integration routes
(``deliveries``, ``integrations``, ``answers``, ``deliveries/wait``, ticket ``events``) live in
``control_integrations.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .context import current_world
from .world import AccountData

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def _reply(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _bad(message: str, status: int = 400) -> Response:
    return _reply({"error": message}, status)


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _account(domain: str) -> AccountData | Response:
    account = current_world().account(domain)
    return account if account is not None else _bad("account not found", 404)


@bp.get("/health")
def health() -> Response:
    return _reply({"ok": True})


@bp.get("/stats")
def stats() -> Response:
    return _reply(current_world().stats())


@bp.post("/reset")
def reset() -> Response:
    current_world().reset()
    return _reply({"ok": True})


@bp.route("/config", methods=["GET", "PATCH"])
def config() -> Response:
    world = current_world()
    if request.method == "PATCH":
        body = _body()
        if body is None:
            return _bad("send a JSON object of settings")
        try:
            world.configure(body)
        except ValueError as exc:
            return _bad(str(exc))
    return _reply(world.config.to_dict())


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    world = current_world()
    if request.method == "DELETE":
        return _reply({"cleared": world.clear_faults()})
    if request.method == "POST":
        body = _body()
        if body is None:
            return _bad("send a JSON fault rule")
        try:
            return _reply(world.add_fault(body).to_dict(), 201)
        except ValueError as exc:
            return _bad(str(exc))
    with world.lock:
        return _reply({"faults": [rule.to_dict() for rule in world.faults]})


@bp.get("/grants")
def grants() -> Response:
    return _reply({"grants": current_world().grants(request.args.get("account"))})


@bp.route("/accounts", methods=["GET", "POST"])
def accounts() -> Response:
    world = current_world()
    if request.method == "GET":
        with world.lock:
            return _reply({"accounts": [a.record for a in world.accounts.values()]})
    body = _body() or {}
    name = body.get("name")
    try:
        account = world.create_account(
            body.get("domain"),  # type: ignore[arg-type]
            name if isinstance(name, str) else None,
        )
    except ValueError as exc:
        return _bad(str(exc))
    except KeyError:
        return _bad("account already exists", 409)
    return _reply(account.record, 201)


@bp.post("/accounts/<account>/revoke")
def revoke_account(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    return _reply({"revoked": current_world().revoke_account(account)})


@bp.post("/accounts/<account>/drain")
def drain(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    requests_ = (_body() or {}).get("requests")
    if not isinstance(requests_, int) or isinstance(requests_, bool) or requests_ < 0:
        return _bad("requests must be a non-negative integer")
    decision = current_world().bucket(account).fill(requests_)
    return _reply({"used": decision.used, "limit": decision.limit})


@bp.get("/accounts/<account>/objects")
def objects(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    return _reply(current_world().objects(found))


@bp.route("/clients", methods=["GET", "POST"])
def clients() -> Response:
    world = current_world()
    if request.method == "GET":
        with world.lock:
            registered = [world.client(world.config.client_id), *world.clients.values()]
        return _reply(
            {
                "clients": [
                    {"client_id": c.client_id, "redirect_uris": c.redirect_uris, "name": c.name}
                    for c in registered
                    if c
                ]
            }
        )
    body = _body() or {}
    client_id, secret, uris = (
        body.get("client_id"),
        body.get("client_secret"),
        body.get("redirect_uris"),
    )
    if not (
        isinstance(client_id, str)
        and client_id
        and isinstance(secret, str)
        and secret
        and isinstance(uris, list)
        and uris
        and all(isinstance(u, str) for u in uris)
    ):
        return _bad("need client_id, client_secret (strings) and redirect_uris (list of URLs)")
    name = body.get("name")
    client = world.register_client(
        client_id, secret, tuple(uris), name if isinstance(name, str) else None
    )
    return _reply(
        {"client_id": client.client_id, "redirect_uris": client.redirect_uris, "name": client.name},
        201,
    )
