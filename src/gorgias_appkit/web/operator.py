"""Operator pages under ``/admin``: installations (history, ledger, integration health, events),
refresh, disconnect, and ``/admin/events``: the latest events, the dead letters and their replay.

Off unless the operator configures an admin (``GORGIAS_ADMIN_USER`` and
``GORGIAS_ADMIN_PASSWORD_HASH``, a ``werkzeug.security`` hash such as ``gorgias-appkit admin
password-hash`` prints; both checked with every other setting in ``KitSettings``): then every
route answers 404. The login is a server-side session record (:mod:`.sessions`) that lasts
``GORGIAS_ADMIN_LOGIN_TTL`` (eight hours) and ends at logout; logging in gives the browser a new
session id and CSRF token. Attempts are throttled per address and per user name, and password
checks are capped per process (:mod:`.throttle`). Every state-changing form carries the
session's CSRF token. Pages show token expiries and fingerprints, never a token. Register with
:func:`init_operator` (the reference app does); ``/metrics`` (:mod:`.metrics`) accepts the same
login.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from functools import cache
from functools import wraps
from typing import Any
from typing import TypeVar
from typing import cast

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ..core.inbound_records import EventStatus
from ..core.web_settings import WebSettings
from ..errors import GorgiasAppError
from . import sessions
from .extension import get_kit
from .security import csrf_token
from .security import require_csrf
from .throttle import client_address
from .throttle import get_throttle

log = logging.getLogger("gorgias_appkit.operator")

MAX_FIELD = 1024  # a user name or password longer than this is wrong, and not hashed

bp = Blueprint("operator", __name__, url_prefix="/admin", template_folder="operator_templates")
F = TypeVar("F", bound=Callable[..., Any])


def init_operator(app: Flask) -> None:
    """Add the operator pages to ``app`` (after ``GorgiasKit``, which checks the settings)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)


def _web() -> WebSettings:
    return get_kit().settings.web


def admin_configured() -> bool:
    """Whether the operator set up an admin login for this app."""
    return _web().admin_configured


def is_admin() -> bool:
    """Whether this browser holds a live admin login (its session record says so)."""
    web = _web()
    login = sessions.admin_user()
    if not web.admin_configured or login is None:
        return False
    user, age = login
    fresh = 0 <= age < web.admin_login_ttl
    return fresh and hmac.compare_digest(user.encode(), web.admin_user.encode())


def admin_required(view: F) -> F:
    """404 when no admin is configured; the login page when this browser is not logged in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not admin_configured():
            abort(404)
        if not is_admin():
            return redirect(url_for("operator.login"))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, csrf_token=csrf_token(), **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The admin login form."""
    if not admin_configured():
        abort(404)
    if request.method == "GET":
        return _page("gorgias_appkit/operator/login.html")
    require_csrf()
    user = request.form.get("username", "")
    password = request.form.get("password", "")
    if len(user) > MAX_FIELD or len(password) > MAX_FIELD:
        user, password = "", ""  # refused below like any wrong password, never truncated
    throttle = get_throttle()
    throttle.login_attempt(client_address(), user)  # 429 before any hash is computed
    with throttle.hash_check():  # 503 at once when this process is busy hashing
        accepted = _credentials_ok(user, password)
    if not accepted:
        throttle.login_failed(user)
        log.warning("admin login refused", extra={"event": "admin_login_failed"})
        return _page("gorgias_appkit/operator/login.html", 401, failed=True)
    sessions.log_admin_in(_web().admin_user)  # a new session id and CSRF token
    log.info("admin logged in", extra={"event": "admin_login"})
    return redirect(url_for("operator.installations"), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the admin login: the session record is deleted, so a saved cookie is worthless."""
    require_csrf()
    sessions.end_session()
    return redirect(url_for("operator.login") if admin_configured() else "/", code=303)


def _credentials_ok(user: str, password: str) -> bool:
    web = _web()
    user_ok = hmac.compare_digest(user.encode(), web.admin_user.encode())
    # The hash is checked whatever the name, so both mistakes take the same time.
    stored = web.admin_password_hash
    hashed = stored.reveal() if user_ok and stored is not None else _dummy_hash()
    return check_password_hash(hashed, password) and user_ok


@bp.get("/")
@admin_required
def installations() -> Response:
    """Every installation with health, expiry, scopes, last refresh and last error."""
    kit = get_kit()
    objects = kit.ledger.live_per_account()
    rows = [(i, objects.get(i.account, 0)) for i in kit.installations()]
    counts = kit.store.count_by_status()
    at_risk: dict[str, int] = {}
    for health in kit.inbound.repair.at_risk():
        at_risk[health.account] = at_risk.get(health.account, 0) + 1
    return _page("gorgias_appkit/operator/list.html", rows=rows, counts=counts, at_risk=at_risk)


@bp.get("/accounts/<account>")
@admin_required
def installation(account: str) -> Response:
    """One installation: details, history and the objects the app created."""
    kit = get_kit()
    found = kit.installation(account)
    if found is None:
        abort(404)
    return _page(
        "gorgias_appkit/operator/detail.html",
        installation=found,
        history=kit.history(account, limit=50),
        ledger=kit.ledger.entries(found.account),
        health=kit.inbound.repair.of(found.account),
        threshold=kit.settings.inbound.at_risk,
        events=kit.inbound.latest_events(found.account, limit=20),
    )


@bp.get("/events")
@admin_required
def events() -> Response:
    """The newest events of every account, the dead letters first, with a replay button each."""
    kit = get_kit()
    return _page(
        "gorgias_appkit/operator/events.html",
        dead=kit.inbound.latest_events(status=EventStatus.DEAD, limit=100),
        latest=kit.inbound.latest_events(limit=50),
        counts=kit.inbound.event_store.counts(),
        at_risk=kit.inbound.repair.at_risk(),
        threshold=kit.settings.inbound.at_risk,
    )


@bp.post("/events/<int:event_id>/replay")
@admin_required
def replay(event_id: int) -> ResponseReturnValue:
    """Give a dead letter a new set of attempts."""
    require_csrf()
    if get_kit().inbound.replay(event_id):
        log.info("admin replayed event %d", event_id, extra={"event": "admin_replay"})
        flash(f"done:event {event_id} queued again")
    else:
        flash(f"error:event {event_id} is not a dead letter")
    return redirect(url_for("operator.events"), code=303)


@bp.post("/accounts/<account>/refresh")
@admin_required
def refresh(account: str) -> ResponseReturnValue:
    """Refresh the account's tokens now."""
    require_csrf()
    _act(account, "refresh", lambda: get_kit().refresh_now(account))
    return redirect(url_for("operator.installation", account=account), code=303)


@bp.post("/accounts/<account>/disconnect")
@admin_required
def disconnect(account: str) -> ResponseReturnValue:
    """Remove the app's objects from the account, then revoke and drop its tokens."""
    require_csrf()
    _act(account, "disconnect", lambda: get_kit().disconnect(account))
    return redirect(url_for("operator.installation", account=account), code=303)


@cache
def _dummy_hash() -> str:
    # Checked when the user name is wrong, so both mistakes take the same time and the
    # login does not reveal which one it was.
    return generate_password_hash(secrets.token_urlsafe(16))


def _act(account: str, action: str, run: Callable[[], object]) -> None:
    # The operator stays on the installation's page and reads the outcome there; the
    # merchant-facing error pages (with their restart button) are not for operators.
    try:
        run()
    except GorgiasAppError as exc:
        log.warning(
            "admin %s failed: %s",
            action,
            type(exc).__name__,
            extra={"account": account, "event": f"admin_{action}_failed"},
        )
        flash(f"error:{action} failed: {exc}")
        return
    log.info("admin %s", action, extra={"account": account, "event": f"admin_{action}"})
    flash(f"done:{action} done")
