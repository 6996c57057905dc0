"""The endpoints Gorgias calls: ``/gorgias/inbound/<account>/<integration>[/<trigger>]``.

Every call must carry the account's key in ``X-Appkit-Key`` (checked in constant time before
anything else: a missing, wrong, old or another account's key is a 401 that says nothing more).
A data integration (no trigger in the URL) is answered synchronously with its handler's JSON,
within the deadline; an event integration's call is recorded once and answered 200 at once,
its handler running later on the worker. With ``X-Appkit-Probe: 1`` a call only proves the
route and the key work (the repair job's probe) and runs nothing. Every answer is JSON (Gorgias
counts anything else as a failure) and ``no-store``; CSRF does not apply (no browser, no
cookie: the key is the proof). The key never appears in a log line or an answer.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

from ..core.account import Account
from ..errors import InvalidAccount
from ..inbound.health import PROBE_HEADER
from ..inbound.payloads import KEY_HEADER
from ..inbound.payloads import PATH_PREFIX
from ..inbound.payloads import parse_body
from ..inbound.service import Target
from ..kit import Kit
from .security import csrf_exempt

log = logging.getLogger("gorgias_appkit.web")
MAX_BODY = 256 * 1024

bp = Blueprint("gorgias_inbound", __name__, url_prefix=PATH_PREFIX)


def get_kit() -> Kit:
    kit = current_app.extensions["gorgias_appkit"]
    if not isinstance(kit, Kit):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return kit


def _json(status: int, **body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused() -> Response:
    response = _json(401, error="unauthorized")
    response.headers["WWW-Authenticate"] = f'ApiKey header="{KEY_HEADER}"'
    return response


def _authenticated(
    account: str, name: str, trigger: str | None
) -> tuple[Account, Target] | Response:
    """The account and the integration the URL names, if the call's key opens them; else a 4xx.

    A refused call for an installed account's declared integration is counted as a failed
    answer (Gorgias counts it too: a key out of step with Gorgias shows up as "at risk"). An
    unknown integration is a 404 only for a caller holding a valid key.
    """
    kit = get_kit()
    try:
        owner = Account(account)
    except InvalidAccount:
        return _refused()
    target = kit.inbound.target(name, trigger)
    if not kit.inbound.authenticate(owner, request.headers.get(KEY_HEADER)):
        log.info(
            "inbound call refused: no valid key",
            extra={"account": owner, "event": "inbound_refused"},
        )
        if target is not None and kit.installation(owner) is not None:
            kit.inbound.answered(owner, target, error="key refused (401)")
        return _refused()
    if target is None:
        return _json(404, error="no such integration")
    return owner, target


def _fields() -> dict[str, Any] | Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _json(413, error="the body is too large")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _json(413, error="the body is too large")
    try:
        body = parse_body(raw, request.content_type or "application/json")
    except (ValueError, UnicodeDecodeError):
        return _json(400, error="the body must be a JSON object or a urlencoded form")
    return {**request.args.to_dict(), **body}


def _admitted(
    account: str, name: str, trigger: str | None
) -> tuple[Account, Target, dict[str, Any]] | Response:
    """The call's account, integration and fields; else the answer to send (a probe, a 4xx)."""
    checked = _authenticated(account, name, trigger)
    if isinstance(checked, Response):
        return checked
    owner, target = checked
    if request.headers.get(PROBE_HEADER) == "1":
        return _json(200, ok=True, probe=True)
    fields = _fields()
    if isinstance(fields, Response):
        get_kit().inbound.answered(owner, target, error=f"answered {fields.status_code}")
        return fields
    return owner, target, fields


@bp.route("/<account>/<name>", methods=["GET", "POST", "PUT"])
@csrf_exempt
def data_call(account: str, name: str) -> Response:
    """Answer a data integration with its handler's JSON (what the widget shows)."""
    admitted = _admitted(account, name, None)
    if isinstance(admitted, Response):
        return admitted
    owner, target, fields = admitted
    answer = get_kit().inbound.answer(owner, target, fields)
    return _json(answer.status, **answer.body)


@bp.post("/<account>/<name>/<trigger>")
@csrf_exempt
def event_call(account: str, name: str, trigger: str) -> Response:
    """Record an event once and answer at once; the worker runs its handler."""
    admitted = _admitted(account, name, trigger)
    if isinstance(admitted, Response):
        return admitted
    owner, target, fields = admitted
    recorded = get_kit().inbound.receive(owner, target, fields)
    return _json(200, ok=True, duplicate=not recorded.is_new)


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _not_routed(exc: HTTPException) -> Response | HTTPException:
    # Raised by routing, before any blueprint: JSON under our prefix, the app's page elsewhere.
    if request.path.startswith(PATH_PREFIX + "/"):
        return _failed(exc)
    return exc


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response:
    # Gorgias only takes JSON: an HTTP error keeps its code, anything else (the database is
    # down, a store error) is a 503 it will count, never an HTML page or a traceback.
    if isinstance(exc, HTTPException):
        return _json(exc.code or 500, error=(exc.name or "error").lower())
    log.error("inbound call failed: %s", type(exc).__name__, extra={"event": "inbound_failed"})
    return _json(503, error="the app is unavailable")
