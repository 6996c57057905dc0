"""Operator pages under ``/admin``: installations (history, ledger, integration health, events),
refresh, disconnect, and ``/admin/events``: the latest events, the dead letters and their replay.

Off unless the operator configures an admin (``GORGIAS_ADMIN_USER`` and
``GORGIAS_ADMIN_PASSWORD_HASH``, a ``werkzeug.security`` hash such as ``gorgias-appkit admin
password-hash`` prints): then every route answers 404. The login lives in the signed session for
eight hours; every state-changing form carries the session's CSRF token. Pages show token
expiries and fingerprints, never a token. Register with :func:`init_operator` (the reference app
does); ``/metrics`` (:mod:`.metrics`) accepts the same login.
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
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ..core.inbound_records import EventStatus
from ..core.settings import looks_like_password_hash
from ..errors import ConfigError
from ..errors import GorgiasAppError
from .extension import get_kit
from .security import csrf_token
from .security import require_csrf

log = logging.getLogger("gorgias_appkit.operator")

ADMIN_USER = "GORGIAS_ADMIN_USER"
ADMIN_PASSWORD_HASH = "GORGIAS_ADMIN_PASSWORD_HASH"  # noqa: S105 - a setting's name
SESSION_TTL = 8 * 3600
_SESSION_KEY = "admin"

bp = Blueprint("operator", __name__, url_prefix="/admin", template_folder="operator_templates")
F = TypeVar("F", bound=Callable[..., Any])


def init_operator(app: Flask) -> None:
    """Check the admin settings (a :class:`ConfigError` at start-up) and add the pages."""
    user, hashed = app.config.get(ADMIN_USER), app.config.get(ADMIN_PASSWORD_HASH)
    if bool(user) != bool(hashed):
        raise ConfigError([f"set both {ADMIN_USER} and {ADMIN_PASSWORD_HASH}, or neither"])
    if hashed and not looks_like_password_hash(str(hashed)):
        raise ConfigError(
            [
                f"{ADMIN_PASSWORD_HASH} must be a werkzeug password hash "
                "(`gorgias-appkit admin password-hash` prints one), not a password"
            ]
        )
    app.register_blueprint(bp)


def admin_configured() -> bool:
    """Whether the operator set up an admin login for this app."""
    return bool(current_app.config.get(ADMIN_USER) and current_app.config.get(ADMIN_PASSWORD_HASH))


def is_admin() -> bool:
    """Whether this browser holds a live admin login."""
    login = session.get(_SESSION_KEY)
    if not admin_configured() or not isinstance(login, dict):
        return False
    since = login.get("at")
    now = get_kit().clock.now().timestamp()
    fresh = isinstance(since, int | float) and 0 <= now - since < SESSION_TTL
    return fresh and login.get("user") == current_app.config.get(ADMIN_USER)


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
    expected_user = str(current_app.config[ADMIN_USER])
    user_ok = hmac.compare_digest(user.encode(), expected_user.encode())
    hashed = str(current_app.config[ADMIN_PASSWORD_HASH]) if user_ok else _dummy_hash()
    if not (check_password_hash(hashed, password) and user_ok):
        log.warning("admin login refused", extra={"event": "admin_login_failed"})
        return _page("gorgias_appkit/operator/login.html", 401, failed=True)
    session[_SESSION_KEY] = {"user": expected_user, "at": get_kit().clock.now().timestamp()}
    log.info("admin logged in", extra={"event": "admin_login"})
    return redirect(url_for("operator.installations"), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the admin login."""
    require_csrf()
    session.pop(_SESSION_KEY, None)
    return redirect(url_for("operator.login") if admin_configured() else "/", code=303)


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
