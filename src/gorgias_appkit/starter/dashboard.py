"""The merchant's pages: home, one dashboard per installed account, and ``/healthz``."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import make_response
from flask import render_template

from gorgias_appkit import InstallStatus
from gorgias_appkit.web import csrf_token
from gorgias_appkit.web import get_kit
from gorgias_appkit.web import viewable_accounts

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    """Home: the accounts this browser manages, and an install form."""
    kit = get_kit()
    mine = [kit.installation(a) for a in viewable_accounts()]
    return render_template("starter/index.html", installations=[i for i in mine if i])


@bp.get("/accounts/<account>")
def account_dashboard(account: str) -> Response:
    """Account info and the latest tickets, live from the Gorgias API."""
    kit = get_kit()
    if account not in viewable_accounts():
        return make_response(
            render_template("gorgias_appkit/failure.html", kind="not_yours", account=account), 403
        )
    installation = kit.installation(account)
    if installation is None or not installation.status.usable:
        status = installation.status.value if installation else "uninstalled"
        page = render_template("gorgias_appkit/failure.html", kind="reconnect", account=account,
                               status=status)
        return make_response(page, 409)
    client = kit.client_for(account)
    info = client.account_info()
    tickets = client.latest_tickets(10)
    installation = kit.installation(account)  # re-read: the calls may have refreshed it
    response = make_response(render_template(
        "starter/dashboard.html", account=account, info=info, tickets=tickets,
        installation=installation, csrf_token=csrf_token(), statuses=InstallStatus,
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the database answers."""
    get_kit().check_database()
    return jsonify(status="ok")
