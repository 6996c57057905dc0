"""What the reference app puts into a merchant's account, and the endpoint those objects call.

On install and reinstall it makes sure two objects exist, the way Gorgias apps do: an HTTP
integration that calls this app for every ticket, and a ticket sidebar widget showing the answer.
Both go through ``kit.objects``, so the ledger records them and disconnect removes them. The
integration authenticates its calls with a per-account key derived from the app's secret key;
the key travels to Gorgias inside the integration and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import jsonify
from flask import request

from gorgias_appkit import ConfigError
from gorgias_appkit import HookEvent
from gorgias_appkit import Kit
from gorgias_appkit import LifecycleEvent
from gorgias_appkit.web import get_kit

INTEGRATION = "ticket-panel"
WIDGET = "ticket-sidebar"
KEY_HEADER = "X-Appkit-Key"

bp = Blueprint("provision", __name__)


def register(app: Flask, kit: Kit) -> None:
    """Subscribe the reference app's lifecycle hooks and add the integration's endpoint."""
    app_url = kit.settings.app_url
    name = str(app.config.get("APP_NAME", "Gorgias AppKit demo"))

    def provision(event: LifecycleEvent) -> None:
        account = event.installation.account
        integration = kit.objects.ensure(
            account,
            "integrations",
            integration_payload(kit, account, app_url, name),
            name=INTEGRATION,
        )
        kit.objects.ensure(account, "widgets", widget_payload(integration["id"], name), name=WIDGET)

    kit.hooks.on(HookEvent.INSTALLED, provision)
    kit.hooks.on(HookEvent.REINSTALLED, provision)
    app.register_blueprint(bp)


def integration_key(kit: Kit, account: str) -> str:
    """The key Gorgias sends with each integration call for ``account`` (HMAC of the secret)."""
    secret = kit.settings.secret_key
    if secret is None:  # GorgiasKit refuses to start without one; a bare Kit may lack it
        raise ConfigError(["GORGIAS_SECRET_KEY is required to sign integration calls"])
    return _key(secret.reveal(), account)


def accepted_keys(kit: Kit, account: str) -> list[str]:
    """The current key and those of ``GORGIAS_SECRET_KEY_FALLBACKS``: a rotation in progress
    keeps integrations made under the old secret working until a reinstall renews them."""
    fallbacks = kit.settings.web.secret_key_fallbacks
    return [integration_key(kit, account), *(_key(k.reveal(), account) for k in fallbacks)]


def _key(secret: str, account: str) -> str:
    message = f"integration:{account}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def integration_payload(kit: Kit, account: str, app_url: str, name: str) -> dict[str, Any]:
    """An HTTP integration Gorgias calls with the ticket id whenever a ticket is opened."""
    return {
        "name": name,
        "type": "http",
        "description": f"Ticket details from {name}. Removed when the app is disconnected.",
        "http": {
            "url": f"{app_url}/integration/{account}/ticket?ticket_id={{{{ticket.id}}}}",
            "method": "GET",
            "headers": {KEY_HEADER: integration_key(kit, account)},
            "request_content_type": "application/json",
            "response_content_type": "application/json",
            "triggers": {
                "ticket_created": True,
                "ticket_updated": True,
                "ticket_message_created": False,
            },
        },
    }


def widget_payload(integration_id: object, name: str) -> dict[str, Any]:
    """A ticket sidebar card rendering the integration's answer."""
    return {
        "type": "http",
        "context": "ticket",
        "integration_id": integration_id,
        "order": 0,
        "template": {
            "type": "wrapper",
            "widgets": [
                {
                    "type": "card",
                    "title": name,
                    "path": "",
                    "widgets": [
                        {"type": "text", "path": "health", "title": "Connection"},
                        {"type": "text", "path": "ticket_id", "title": "Ticket"},
                    ],
                }
            ],
        },
    }


@bp.get("/integration/<account>/ticket")
def ticket_panel(account: str) -> Response:
    """What the sidebar widget shows; only Gorgias (holding the account's key) may ask."""
    kit = get_kit()
    sent = request.headers.get(KEY_HEADER, "")
    installation = kit.installation(account)
    known = accepted_keys(kit, account)
    # Every key is compared (no early exit), so the time taken does not say which one matched.
    matches = [hmac.compare_digest(sent.encode(), key.encode()) for key in known]
    if installation is None or not any(matches):
        abort(401)
    response = jsonify(
        account=account,
        ticket_id=request.args.get("ticket_id", ""),
        health=installation.status.value,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
