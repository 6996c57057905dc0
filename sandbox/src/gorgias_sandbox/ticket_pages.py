"""Ticket pages: an agent's view of an account's tickets, with the sidebar widgets rendered.

``GET /{account}/tickets`` lists the newest tickets; ``GET /{account}/tickets/<id>`` shows one
(subject, status, customer, messages) with the account's ``ticket`` widgets in a sidebar and
its ``customer`` widgets under the customer, each rendered (``widgets_render.py``) from the
last JSON answer its integration gave for this ticket. Buttons act as an agent would and fire
the same events as the API: add a message (``ticket-message-created``), close or reopen
(``ticket-updated`` + ``ticket-status-updated``), and "Refresh sidebar" (``ticket-updated``).
After an action the page waits briefly (``?wait=1``) for the deliveries it caused. With config
``integration_call_on_view`` opening a ticket also calls the integrations its widgets show
(trigger ``ticket-viewed``) and waits for them, for a sidebar filled in at first sight.

No login (a loopback dev tool), but every POST must carry the World's CSRF token from a hidden
field: the app under test runs on another loopback port and must not be able to drive the
agent's buttons. Not counted and not subject to fault rules.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from .context import current_world
from .events import fire
from .ticket_ops import append_message, apply_update, new_message
from .widgets_render import render_widget
from .world import AccountData

bp = Blueprint("sandbox_pages", __name__, url_prefix="/<account>/tickets")
LIST_LIMIT = 100
MAX_PAGE_WAIT = 5.0


def _page(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def _error(title: str, message: str, status: int) -> Response:
    return _page(render_template("error.html", title=title, message=message), status)


@bp.before_request
def _check() -> Response | None:
    domain = str((request.view_args or {}).get("account", ""))
    if current_world().account(domain) is None:
        return _error("Account not found", f"There is no Gorgias account called {domain!r}.", 404)
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), current_world().csrf_token.encode()):
            return _error("Forbidden", "Missing or wrong CSRF token: reload the page.", 403)
    return None


def _account(domain: str) -> AccountData:
    found = current_world().account(domain)
    assert found is not None  # noqa: S101 - checked in _check
    return found


@bp.get("", strict_slashes=False)
def ticket_list(account: str) -> Response:
    acct, world = _account(account), current_world()
    with world.lock:
        newest = sorted(acct.tickets, key=lambda t: (t["updated_datetime"], t["id"]), reverse=True)
        tickets = [dict(t) for t in newest[:LIST_LIMIT]]
    return _page(render_template("tickets.html", account=acct.record, tickets=tickets))


@bp.get("/<int:ticket_id>")
def ticket_view(account: str, ticket_id: int) -> Response:
    acct, world = _account(account), current_world()
    if world.config.integration_call_on_view and not request.args.get("wait"):
        jobs = world.deliveries.plan_view(acct, ticket_id)
        world.deliveries.dispatch(jobs)
        world.deliveries.release(jobs)  # nothing to answer first: the page waits for them
    if request.args.get("wait") or world.config.integration_call_on_view:
        world.deliveries.wait(min(2 * world.config.integration_timeout + 1, MAX_PAGE_WAIT))
    with world.lock:
        ticket = acct.ticket(ticket_id)
        if ticket is None:
            return _error("Ticket not found", f"{account} has no ticket {ticket_id}.", 404)
        ticket, thread = dict(ticket), list(acct.messages.get(ticket_id, []))
        panels = _panels(acct, ticket_id)
    body = render_template(
        "ticket.html",
        account=acct.record,
        ticket=ticket,
        messages=thread,
        ticket_panels=[p for p in panels if p["context"] == "ticket"],
        customer_panels=[p for p in panels if p["context"] == "customer"],
        csrf_token=world.csrf_token,
    )
    return _page(body)


def _panels(acct: AccountData, ticket_id: int) -> list[dict[str, Any]]:
    """Every ticket/customer widget with its rendered HTML (None before any answer)."""
    stored = current_world().deliveries.stored_answers(acct.domain, ticket_id)
    answers = {a["integration_id"]: a for a in stored}
    widgets = sorted(acct.widgets.values(), key=lambda w: (w.get("order", 0), w["id"]))
    panels = []
    for widget in widgets:
        integration = acct.integrations.get(widget.get("integration_id") or -1)
        answer = answers.get(widget.get("integration_id"))
        panels.append(
            {
                "id": widget["id"],
                "context": widget["context"],
                "name": integration["name"] if integration else "(no integration)",
                "html": render_widget(widget["template"], answer["answer"]) if answer else None,
                "received": answer["received_datetime"] if answer else None,
            }
        )
    return panels


def _back(account: str, ticket_id: int) -> Response:
    target = url_for(".ticket_view", account=account, ticket_id=ticket_id, wait=1)
    return Response(status=303, headers={"Location": target})


def _act(account: str, ticket_id: int, action: Any) -> Response:
    acct, world = _account(account), current_world()
    with world.lock:
        ticket = acct.ticket(ticket_id)
        if ticket is None:
            return _error("Ticket not found", f"{account} has no ticket {ticket_id}.", 404)
        triggers = action(acct, ticket)
        if isinstance(triggers, Response):
            return triggers
    fire(acct, ticket_id, triggers)
    return _back(account, ticket_id)


@bp.post("/<int:ticket_id>/messages")
def add_message(account: str, ticket_id: int) -> Response:
    text = request.form.get("body_text", "").strip()

    def action(acct: AccountData, ticket: dict[str, Any]) -> list[str] | Response:
        if not text:
            return _error("Empty message", "Write something before sending.", 400)
        msg = {"channel": "email", "via": "helpdesk", "from_agent": True, "body_text": text}
        append_message(acct, ticket, new_message(acct, ticket["id"], msg, acct.owner()))
        return ["ticket-message-created"]

    return _act(account, ticket_id, action)


@bp.post("/<int:ticket_id>/status")
def set_status(account: str, ticket_id: int) -> Response:
    status = request.form.get("status")

    def action(acct: AccountData, ticket: dict[str, Any]) -> list[str] | Response:
        if status not in ("open", "closed"):
            return _error("Bad status", "status must be open or closed", 400)
        return apply_update(acct, ticket, {"status": status})

    return _act(account, ticket_id, action)


@bp.post("/<int:ticket_id>/refresh")
def refresh_sidebar(account: str, ticket_id: int) -> Response:
    return _act(account, ticket_id, lambda acct, ticket: ["ticket-updated"])
