"""The request deadline in the Flask glue: one scope per request, and the "Gorgias is busy" page.

:func:`init_deadline` opens a :func:`~gorgias_appkit.core.deadline.request_deadline` scope
(``GORGIAS_REQUEST_DEADLINE`` seconds) before any other ``before_request`` hook and closes it at
teardown, so every call the services make while answering runs under it. :func:`busy_page`
turns an error that means "the request ran out of time" (:class:`GorgiasBusy`, a 429 from
Gorgias, or a call the deadline stopped) into a 503 with ``Retry-After``; the install views use
it, and so can an app's own error handlers (the reference app's dashboard does).
"""

from __future__ import annotations

import logging
import math
from contextlib import ExitStack

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import make_response
from flask import render_template
from flask import request

from ..core.deadline import current_deadline
from ..core.deadline import request_deadline
from ..errors import ApiError
from ..errors import ExchangeOutcomeUnknown
from ..errors import GorgiasBusy
from ..errors import OutcomeUnknown
from ..errors import RateLimited
from ..errors import TokenEndpointError
from ..kit import Kit

log = logging.getLogger("gorgias_appkit.web")

_G_KEY = "_gorgias_deadline"
DEFAULT_RETRY_AFTER = 5
MAX_RETRY_AFTER = 300


def init_deadline(app: Flask) -> None:
    """Run every request of ``app`` under the kit's request deadline."""
    app.before_request_funcs.setdefault(None, []).insert(0, _open_scope)
    app.teardown_request(_close_scope)


def _kit() -> Kit:
    kit = current_app.extensions["gorgias_appkit"]
    if not isinstance(kit, Kit):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return kit


def _open_scope() -> None:
    kit = _kit()
    scope = ExitStack()
    scope.enter_context(request_deadline(kit.settings.request_deadline, clock=kit.clock))
    setattr(g, _G_KEY, scope)


def _close_scope(exc: BaseException | None) -> None:
    scope = g.pop(_G_KEY, None)
    if isinstance(scope, ExitStack):
        scope.close()


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means Gorgias (or a refresh) could not answer within this request's time.

    An answer whose outcome is unknown (a POST, a code exchange) is not "busy": trying again
    blindly could repeat it, so those keep their own pages.
    """
    if isinstance(exc, GorgiasBusy | RateLimited):
        return True
    if isinstance(exc, OutcomeUnknown | ExchangeOutcomeUnknown):
        return False
    scope = current_deadline()
    reached = scope is not None and scope.reached
    return reached and isinstance(exc, ApiError | TokenEndpointError)


def busy_page(exc: BaseException) -> Response | None:
    """The 503 "Gorgias is busy, try again" page (``Retry-After``) if :func:`is_busy`, else None."""
    if not is_busy(exc):
        return None
    retry_after = _retry_after(getattr(exc, "retry_after", None))
    extra = {"event": "request_busy"}
    if account := getattr(exc, "account", None):
        extra["account"] = str(account)
    log.warning("answered busy: %s", type(exc).__name__, extra=extra)
    retry_url = request.path if request.method == "GET" and not _one_time_url() else None
    page = render_template(
        "gorgias_appkit/failure.html",
        kind="busy",
        seconds=f"{_kit().settings.request_deadline:g}",
        retry_url=retry_url,
    )
    response = make_response(page, 503)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _one_time_url() -> bool:
    # The callback's code and state are single use: reloading it cannot work.
    return request.endpoint == "gorgias.callback"


def _retry_after(value: object) -> int:
    if not isinstance(value, int | float) or value <= 0 or math.isnan(value):
        return DEFAULT_RETRY_AFTER
    return max(1, min(MAX_RETRY_AFTER, math.ceil(value)))
