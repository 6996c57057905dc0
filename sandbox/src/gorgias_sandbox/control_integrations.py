"""Control API routes for Gorgias' side of HTTP integrations (``/_sandbox/...``, JSON, no auth).

Routes: ``GET accounts/<account>/deliveries`` (every attempt, oldest first, header values
masked), ``GET accounts/<account>/integrations`` (consecutive failures and deactivation of each
integration), ``GET accounts/<account>/answers[?ticket_id=]`` (the last JSON answer per ticket
and integration), ``POST deliveries/wait`` ``{"timeout": s}`` (200 once nothing is pending,
504 if still busy after ``timeout``, default 5, at most 60) and
``POST accounts/<account>/tickets/<id>/events`` ``{"trigger": "ticket-updated"}`` (fire one
event as Gorgias would; either spelling; ``ticket-self-unsnoozed`` first clears the snooze).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .context import current_world
from .events import fire
from .ticket_ops import self_unsnooze
from .triggers import TRIGGERS, canonical
from .world import AccountData

bp = Blueprint("sandbox_control_integrations", __name__, url_prefix="/_sandbox")
MAX_WAIT = 60.0


def _reply(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _account(domain: str) -> AccountData | Response:
    account = current_world().account(domain)
    return account if account is not None else _reply({"error": "account not found"}, 404)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.get("/accounts/<account>/deliveries")
def deliveries(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    return _reply({"deliveries": current_world().deliveries.records(account)})


@bp.get("/accounts/<account>/integrations")
def integration_states(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    return _reply({"integrations": current_world().deliveries.states(found)})


@bp.get("/accounts/<account>/answers")
def answers(account: str) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    raw = request.args.get("ticket_id")
    if raw is not None and not raw.isdigit():
        return _reply({"error": "ticket_id must be an integer"}, 400)
    ticket_id = int(raw) if raw is not None else None
    return _reply({"answers": current_world().deliveries.stored_answers(account, ticket_id)})


@bp.post("/deliveries/wait")
def wait() -> Response:
    timeout = _body().get("timeout", 5.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        return _reply({"error": "timeout must be a non-negative number of seconds"}, 400)
    pending = current_world().deliveries.wait(min(float(timeout), MAX_WAIT))
    if pending:
        message = f"{pending} deliveries still pending after {timeout} s"
        return _reply({"error": message, "idle": False, "pending": pending}, 504)
    return _reply({"idle": True, "pending": 0})


@bp.post("/accounts/<account>/tickets/<int:ticket_id>/events")
def fire_event(account: str, ticket_id: int) -> Response:
    found = _account(account)
    if isinstance(found, Response):
        return found
    raw = _body().get("trigger")
    trigger = canonical(raw) if isinstance(raw, str) else None
    if trigger is None:
        return _reply({"error": f"trigger must be one of {', '.join(TRIGGERS)}"}, 400)
    world = current_world()
    with world.lock:
        ticket = found.ticket(ticket_id)
        if ticket is None:
            return _reply({"error": "ticket not found"}, 404)
        if trigger == "ticket-self-unsnoozed":
            self_unsnooze(ticket)
    called = fire(found, ticket_id, [trigger])
    body = {
        "account": account,
        "ticket_id": ticket_id,
        "trigger": trigger,
        "integration_ids": called,
    }
    return _reply(body, 202)
