"""The merchant's pages: home, one dashboard per installed account, and ``/healthz``.

A dashboard whose installation lost access (``uninstalled``: the merchant removed the app in
Gorgias, found out on refresh or by a 401; or ``needs_reauth``) shows a reconnect banner
instead of live data; so does a page whose API call finds it out half way. The dashboard also
lists the latest events Gorgias sent the app and what became of them.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import make_response
from flask import render_template

from gorgias_appkit import ApiError
from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import InstallStatus
from gorgias_appkit.web import busy_page
from gorgias_appkit.web import csrf_token
from gorgias_appkit.web import get_kit
from gorgias_appkit.web import viewable_accounts

from .tickets import MAX_ROWS
from .tickets import account_name
from .tickets import ticket_rows

bp = Blueprint("dashboard", __name__, template_folder="templates")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> str:
    """Home: the accounts this browser manages, and an install form."""
    kit = get_kit()
    mine = [kit.installation(a) for a in viewable_accounts()]
    return render_template(
        "starter/index.html",
        installations=[i for i in mine if i],
        sandbox=kit.settings.url_template.is_loopback,
    )


@bp.get("/accounts/<account>")
def account_dashboard(account: str) -> Response:
    """Account info and the latest tickets (live from the Gorgias API), and the latest events."""
    kit = get_kit()
    if account not in viewable_accounts():
        return make_response(
            render_template("gorgias_appkit/failure.html", kind="not_yours", account=account), 403
        )
    installation = kit.installation(account)
    if installation is None or not installation.status.usable:
        return _reconnect(account)
    client = kit.client_for(account)
    info = client.account_info()
    tickets = client.latest_tickets(MAX_ROWS)
    return _no_store(
        make_response(
            render_template(
                "starter/dashboard.html",
                account=account,
                name=account_name(info, account),
                tickets=ticket_rows(tickets),
                installation=kit.installation(account),  # re-read: the calls may have refreshed it
                objects=kit.objects.live(account),
                events=kit.inbound.latest_events(account, limit=10),
                csrf_token=csrf_token(),
                statuses=InstallStatus,
            )
        )
    )


def _reconnect(account: str) -> Response:
    kit = get_kit()
    page = render_template(
        "starter/reconnect.html",
        account=account,
        installation=kit.installation(account),
        objects=kit.objects.live(account),
        csrf_token=csrf_token(),
    )
    return _no_store(make_response(page))


@bp.errorhandler(InstallationUnavailable)
def _lost_access(exc: InstallationUnavailable) -> Response:
    return _reconnect(exc.account)


@bp.errorhandler(ApiError)
def _api_failed(exc: ApiError) -> Response:
    busy = busy_page(exc)  # rate limited, or past the request deadline: 503 "try again"
    if busy is not None:
        return busy
    if exc.status_code == 401:  # refused even after a refresh: the install is now uninstalled
        return _reconnect(exc.account)
    page = render_template(
        "gorgias_appkit/failure.html", kind="api", account=exc.account, status=exc.status_code
    )
    return _no_store(make_response(page, 502))


@bp.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the database answers."""
    get_kit().check_database()
    return jsonify(status="ok")
