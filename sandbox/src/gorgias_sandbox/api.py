"""The REST API of every account (``/{account}/api/...``), with Gorgias-shaped JSON.

Account, tickets (+ messages; ``PUT`` changes status, subject, priority, assignee, snooze),
customers, users (agents), HTTP integrations and widgets. Ticket changes fire the account's
HTTP integrations (``events.py``) once the answer has been sent.
Lists use cursor pagination (``pagination.py``); the guard (``apiguard.py``) handles rate
limits, auth and scopes before any view here runs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from . import api_objects
from .apiguard import add_headers, api_error, created, guard, json_body, list_response, not_found
from .context import current_account, current_world
from .events import fire
from .seed import now_iso, person
from .ticket_ops import (
    append_message,
    apply_update,
    message_problems,
    new_message,
    new_ticket,
    update_problems,
)

bp = Blueprint("sandbox_api", __name__, url_prefix="/<account>/api")
bp.before_request(guard)
bp.after_request(add_headers)
api_objects.register(bp)


@bp.get("/account", strict_slashes=False)
def get_account(account: str) -> Response:
    return jsonify(current_account().record)


@bp.get("/tickets", strict_slashes=False)
def list_tickets(account: str) -> Response:
    with current_world().lock:
        tickets = list(current_account().tickets)
    customer_id = request.args.get("customer_id")
    if customer_id:
        tickets = [t for t in tickets if t["customer"] and str(t["customer"]["id"]) == customer_id]
    return list_response(tickets, "/api/tickets")


@bp.get("/tickets/<int:ticket_id>", strict_slashes=False)
def get_ticket(account: str, ticket_id: int) -> Response:
    acct = current_account()
    with current_world().lock:
        ticket = acct.ticket(ticket_id)
        if ticket is None:
            return not_found()
        return jsonify(dict(ticket, messages=list(acct.messages.get(ticket_id, []))))


def _agent() -> dict[str, Any]:
    """The user the access token belongs to (who sends from_agent messages)."""
    acct = current_account()
    return acct.user(int(g.sandbox_claims["sub"])) or acct.owner()


@bp.post("/tickets", strict_slashes=False)
def create_ticket(account: str) -> Response:
    body = json_body()
    messages = body.get("messages") if body else None
    if not isinstance(messages, list) or not messages:
        return api_error(
            400, "Failed to create ticket", {"messages": ["Missing data for required field."]}
        )
    problems = [p for i, m in enumerate(messages) for p in message_problems(m, f"messages[{i}]")]
    if problems:
        return api_error(400, "Failed to create ticket", {"messages": problems})
    assert body is not None  # noqa: S101 - narrowed above
    acct, now = current_account(), now_iso()
    with current_world().lock:
        ticket_id = acct.new_id("ticket")
        thread = [new_message(acct, ticket_id, m, _agent()) for m in messages]
        first = messages[0]
        ticket = new_ticket(ticket_id, body, thread, _customer_ref(body, first), now)
        acct.tickets.append(ticket)
        acct.messages[ticket_id] = thread
        fire(acct, ticket_id, ["ticket-created"])
        return created(dict(ticket, messages=thread))


def _customer_ref(body: dict[str, Any], first: dict[str, Any]) -> dict[str, Any] | None:
    ref = body.get("customer") or (None if first["from_agent"] else first.get("sender"))
    if not isinstance(ref, dict):
        return None
    acct = current_account()
    for customer in acct.customers:
        if ref.get("id") == customer["id"] or (
            ref.get("email") and ref["email"] == customer["email"]
        ):
            return person(customer)
    if not isinstance(ref.get("email"), str):
        return None
    now, name = now_iso(), ref.get("name") or ref["email"].split("@")[0]
    customer = {
        "id": acct.new_id("customer"),
        "email": ref["email"],
        "name": name,
        "firstname": name.split(" ")[0],
        "lastname": " ".join(name.split(" ")[1:]),
        "external_id": None,
        "language": None,
        "timezone": None,
        "channels": [],
        "data": {},
        "integrations": {},
        "note": None,
        "meta": {},
        "created_datetime": now,
        "updated_datetime": now,
    }
    acct.customers.append(customer)
    return person(customer)


@bp.put("/tickets/<int:ticket_id>", strict_slashes=False)
def update_ticket(account: str, ticket_id: int) -> Response:
    acct, body = current_account(), json_body()
    with current_world().lock:
        ticket = acct.ticket(ticket_id)
        if ticket is None:
            return not_found()
        if body is None:
            return api_error(400, "Failed to update ticket", {"body": ["Must be a JSON object."]})
        problems = update_problems(acct, body)
        if problems:
            return api_error(400, "Failed to update ticket", problems)
        fire(acct, ticket_id, apply_update(acct, ticket, body))
        return jsonify(dict(ticket, messages=list(acct.messages.get(ticket_id, []))))


@bp.get("/tickets/<int:ticket_id>/messages", strict_slashes=False)
def list_messages(account: str, ticket_id: int) -> Response:
    acct = current_account()
    with current_world().lock:
        if acct.ticket(ticket_id) is None:
            return not_found()
        thread = list(acct.messages.get(ticket_id, []))
    return list_response(
        thread, f"/api/tickets/{ticket_id}/messages", default_order="created_datetime:asc"
    )


@bp.post("/tickets/<int:ticket_id>/messages", strict_slashes=False)
def create_message(account: str, ticket_id: int) -> Response:
    acct, body = current_account(), json_body()
    with current_world().lock:
        ticket = acct.ticket(ticket_id)
        if ticket is None:
            return not_found()
        problems = message_problems(body, "message")
        if problems or body is None:
            return api_error(400, "Failed to create message", {"message": problems})
        message = new_message(acct, ticket_id, body, _agent())
        append_message(acct, ticket, message)
        fire(acct, ticket_id, ["ticket-message-created"])
        return created(message)


@bp.get("/customers", strict_slashes=False)
def list_customers(account: str) -> Response:
    with current_world().lock:
        customers = list(current_account().customers)
    return list_response(
        customers, "/api/customers", fields=("created_datetime", "updated_datetime", "name", "id")
    )


@bp.get("/customers/<int:customer_id>", strict_slashes=False)
def get_customer(account: str, customer_id: int) -> Response:
    found = [c for c in current_account().customers if c["id"] == customer_id]
    return jsonify(found[0]) if found else not_found()


@bp.get("/users", strict_slashes=False)
def list_users(account: str) -> Response:
    users = list(current_account().users)
    return list_response(
        users,
        "/api/users",
        default_order="name:asc",
        fields=("name", "created_datetime", "updated_datetime", "id"),
    )


@bp.get("/users/<int:user_id>", strict_slashes=False)
def get_user(account: str, user_id: int) -> Response:
    user = current_account().user(user_id)
    return jsonify(user) if user else not_found()


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(account: str, rest: str) -> Response:
    return not_found()
