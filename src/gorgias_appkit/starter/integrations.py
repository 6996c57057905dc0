"""What the reference app adds to a merchant's helpdesk, declared (the kit does the rest).

- ``customer-tickets``, a data integration: on each ticket event Gorgias asks the app for the
  ticket's customer's other tickets and their states (one API call, within the rate budget and
  the answer's deadline); the ``customer-tickets`` widget shows them in the ticket sidebar.
- ``ticket-activity``, an event integration: ticket created, message created, status changed.
  Gorgias' calls are recorded and answered at once; the handler runs on the worker and the
  dashboard lists the latest events with their outcome.

The kit creates these objects on install (with a key of this installation's own), updates them
on reinstall and ``gorgias-appkit installs sync``, and deletes them on disconnect. Point
``GORGIAS_INTEGRATIONS`` at ``gorgias_appkit.starter.integrations:integrations`` (the default)
for the worker and the CLI.
"""

from __future__ import annotations

import logging
from typing import Any

from gorgias_appkit.inbound import DataCall
from gorgias_appkit.inbound import EventCall
from gorgias_appkit.inbound import Integrations
from gorgias_appkit.inbound import card
from gorgias_appkit.inbound import items
from gorgias_appkit.inbound import text
from gorgias_appkit.inbound import wrapper

log = logging.getLogger("gorgias_appkit.starter")
OTHER_TICKETS = 10

integrations = Integrations()

# The answer's declared shape: the kit checks at start-up that every path the widget reads
# exists here, so a renamed field fails the deploy instead of emptying merchants' sidebars.
SAMPLE: dict[str, Any] = {
    "customer": "jane@example.com",
    "open": 1,
    "total": 2,
    "tickets": [{"id": 1042, "subject": "Where is my order?", "status": "open"}],
}


@integrations.data_handler(
    "customer-tickets",
    title="Customer's other tickets",
    sample=SAMPLE,
    triggers=("ticket-created", "ticket-updated", "ticket-message-created"),
    fields={"customer_id": "{{ticket.customer.id}}", "customer": "{{ticket.customer.email}}"},
)
def customer_tickets(call: DataCall) -> dict[str, Any]:
    """The customer's other tickets, newest first, with how many are still open."""
    customer_id = str(call.fields.get("customer_id") or "")
    if not customer_id.isdigit():
        return {"customer": "", "open": 0, "total": 0, "tickets": []}
    page = call.api().get(
        "/tickets",
        {
            "customer_id": customer_id,
            "limit": OTHER_TICKETS + 1,
            "order_by": "updated_datetime:desc",
        },
    )
    others = [
        {
            "id": t.get("id"),
            "subject": t.get("subject") or "(no subject)",
            "status": t.get("status"),
        }
        for t in page.get("data") or []
        if isinstance(t, dict) and str(t.get("id")) != call.ticket_id
    ][:OTHER_TICKETS]
    return {
        "customer": call.fields.get("customer") or "",
        "open": sum(t["status"] == "open" for t in others),
        "total": len(others),
        "tickets": others,
    }


integrations.widget(
    "customer-tickets",
    integration="customer-tickets",
    template=wrapper(
        card(
            "Customer's other tickets",
            text("Customer", "customer"),
            text("Still open", "open"),
            items(
                "tickets",
                text("Ticket", "id"),
                text("Subject", "subject"),
                text("Status", "status"),
            ),
        )
    ),
)


@integrations.event_handler(
    "ticket-activity",
    title="Ticket activity",
    triggers=("ticket-created", "ticket-message-created", "ticket-status-updated"),
    fields={"status": "{{ticket.status}}", "subject": "{{ticket.subject}}"},
    content_type="application/x-www-form-urlencoded",
)
def ticket_activity(call: EventCall) -> None:
    """Note the event (a real app would update its own records here)."""
    log.info(
        "ticket %s: %s (status %s)",
        call.event.ticket_id,
        call.event.trigger,
        call.fields.get("status"),
        extra={"account": call.account, "event": "ticket_activity"},
    )
