"""The install blueprint: ``/oauth/install``, ``/oauth/callback``, ``/accounts/<a>/disconnect``.

Views hold no protocol logic (that is :class:`InstallFlow`) and no ``try``: each error family has
one handler that renders a page with a restart button and a 4xx (upstream trouble: 502; past the
request deadline or rate limited: 503 "Gorgias is busy" with ``Retry-After``). Every
response here is ``Cache-Control: no-store``; the app-wide headers (``Referrer-Policy:
no-referrer`` …) come from :func:`security.security_headers`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..core.account import Account
from ..core.account import account_from_input
from ..errors import AccessDenied
from ..errors import ApiError
from ..errors import ExchangeOutcomeUnknown
from ..errors import GorgiasBusy
from ..errors import InstallationNotFound
from ..errors import InstallationUnavailable
from ..errors import InvalidAccount
from ..errors import InvalidState
from ..errors import OAuthError
from ..errors import TokenEndpointError
from ..errors import TokensUnreadable
from ..kit import Kit
from ..oauth import protocol
from ..oauth.install import AccountNotEnabled
from ..oauth.install import new_browser_id
from . import security
from . import sessions
from .deadline import busy_page
from .throttle import Busy
from .throttle import Throttled
from .throttle import client_address
from .throttle import get_throttle

log = logging.getLogger("gorgias_appkit.web")

bp = Blueprint(
    "gorgias",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/gorgias",
)


def _kit() -> Kit:
    kit = current_app.extensions["gorgias_appkit"]
    if not isinstance(kit, Kit):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return kit


def _secure() -> bool:
    return _kit().settings.app_url.startswith("https://")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/oauth/install")
def install() -> Response:
    """Start an install for ``?account=``; without it, ask for the subdomain.

    ``next`` may name a page of this app to land on afterwards; anything else is ignored. The
    authorize URL's redirect_uri is the configured one, whatever ``Host`` the request carries.
    """
    account = request.args.get("account")
    pasted = request.args.get("address")
    if account is None and pasted is not None:
        # What a merchant typed into the form (" acme ", "acme.gorgias.com", a whole URL) is
        # read leniently here, then goes through the same strict check as Gorgias' own link.
        name = account_from_input(pasted)
        next_ = security.safe_return_path(request.args.get("next"))
        return _no_store(redirect(url_for("gorgias.install", account=name, next=next_), code=303))
    if account is None:
        prefix, _, suffix = _kit().settings.url_template.display.partition("[account]")
        page = render_template("gorgias_appkit/install.html", prefix=prefix, suffix=suffix)
        return _no_store(make_response(page))
    # Each start may cost a stored state and a discovery fetch: bounded per address.
    get_throttle().install_started(client_address())
    # One binding value per browser, reused by concurrent installs (acme and globex in two tabs).
    browser_id = security.browser_id(_secure()) or new_browser_id()
    return_to = security.safe_return_path(request.args.get("next"))
    target = _kit().begin_install(account, browser_id=browser_id, return_to=return_to)
    response = redirect(target, code=302)
    security.set_install_cookie(
        response, browser_id, secure=_secure(), max_age=int(_kit().settings.state_ttl)
    )
    return _no_store(response)


@bp.get("/oauth/callback")
def callback() -> Response:
    """Finish an install; redirect (303) to a clean URL without code or state (SEC-16)."""
    if request.method == "HEAD":  # a link checker's HEAD must not burn the code and the state
        return _no_store(make_response("", 405, {"Allow": "GET"}))
    if security.is_prefetch():  # a prefetch must not burn the one-time code and state
        return _no_store(make_response("", 503, {"Retry-After": "0"}))
    browser_id = security.browser_id(_secure())
    query = protocol.callback_query(request.args.items(multi=True))
    result = _kit().complete_install(query, browser_id=browser_id)
    account = result.installation.account
    sessions.start_fresh_session(account)
    flash("installed" if result.is_new else "reinstalled")
    for scope in result.missing_scopes:
        flash(f"missing_scope:{scope}")
    if result.no_refresh_token:
        flash("no_refresh_token")
    target = security.safe_return_path(result.return_to) or _after_install_path(account)
    # The binding cookie stays until it expires: another install may still be pending in it.
    return _no_store(redirect(target, code=303))


@bp.post("/accounts/<account>/disconnect")
def disconnect(account: str) -> Response:
    """Revoke and forget ``account``'s tokens (CSRF-protected; only the installing browser).

    Answers 303 to :func:`disconnected` (post/redirect/get): reloading that page posts nothing.
    """
    security.require_csrf()
    if account not in sessions.viewable_accounts():
        return _page("not_yours", 403, account=account)
    _kit().disconnect(account)  # ends every session's hold on the account, this one's too
    return _no_store(redirect(url_for("gorgias.disconnected", account=account), code=303))


@bp.get("/disconnected/<account>")
def disconnected(account: str) -> Response:
    """Say that ``account`` is disconnected (it shows nothing about the account but its name)."""
    name = Account(account)  # a hostile value is a 400 page, like everywhere else
    return _no_store(
        make_response(render_template("gorgias_appkit/disconnected.html", account=name))
    )


def _after_install_path(account: str) -> str:
    # A server-side template, never a request parameter: no open redirect (SEC-09).
    template = str(current_app.config.get("GORGIAS_AFTER_INSTALL_PATH", "/accounts/{account}"))
    path = template.replace("{account}", account)
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def _page(kind: str, code: int, **context: Any) -> Response:
    response = make_response(
        render_template("gorgias_appkit/failure.html", kind=kind, **context), code
    )
    return _no_store(response)


def _shown(value: object) -> str:
    # Hostile input in a log line: escaped (no CR/LF, ASCII only) and short (SEC-01).
    return ascii(value)[:100]


@bp.app_errorhandler(AccountNotEnabled)
def _not_enabled(exc: AccountNotEnabled) -> Response:
    log.info("install refused: account not enabled", extra={"event": "install_refused"})
    return _page("not_enabled", 403)


@bp.app_errorhandler(InvalidAccount)
def _bad_account(exc: InvalidAccount) -> Response:
    log.info(
        "install refused: not a Gorgias subdomain: %s",
        _shown(request.args.get("account")),
        extra={"event": "install_refused"},
    )
    return _page("bad_account", 400)


@bp.app_errorhandler(InvalidState)
def _bad_state(exc: InvalidState) -> Response:
    return _page("bad_state", 400, description=exc.description)


@bp.app_errorhandler(AccessDenied)
def _denied(exc: AccessDenied) -> Response:
    return _page("denied", 403, description=exc.description)


@bp.app_errorhandler(GorgiasBusy)
def _busy(exc: GorgiasBusy) -> Response:
    return busy_page(exc) or _page("busy", 503)


@bp.app_errorhandler(TokenEndpointError)
def _upstream(exc: TokenEndpointError) -> Response:
    return busy_page(exc) or _page("upstream", 502, error=exc.error)


@bp.app_errorhandler(ExchangeOutcomeUnknown)
def _exchange_timed_out(exc: ExchangeOutcomeUnknown) -> Response:
    # REL-06: the code may have been used; it is never sent twice, so the merchant starts again.
    return _page("timed_out", 504)


@bp.app_errorhandler(TokensUnreadable)
def _unreadable(exc: TokensUnreadable) -> Response:
    # A configuration problem (a missing encryption key), logged loudly where it was found:
    # the merchant is told to come back, never that the app was uninstalled.
    response = _page("unavailable", 503)
    response.headers["Retry-After"] = "60"
    return response


@bp.app_errorhandler(OAuthError)
def _oauth(exc: OAuthError) -> Response:
    return _page("oauth", 400, error=exc.error, description=exc.description)


@bp.app_errorhandler(InstallationUnavailable)
def _unavailable(exc: InstallationUnavailable) -> Response:
    return _page("reconnect", 409, account=exc.account, status=exc.status)


@bp.app_errorhandler(InstallationNotFound)
def _not_found(exc: InstallationNotFound) -> Response:
    return _page("not_installed", 404)


@bp.app_errorhandler(ApiError)
def _api(exc: ApiError) -> Response:
    return busy_page(exc) or _page("api", 502, status=exc.status_code, account=exc.account)


@bp.app_errorhandler(security.CsrfRejected)
def _csrf(exc: security.CsrfRejected) -> Response:
    return _page("csrf", 403)


@bp.app_errorhandler(Throttled)
def _throttled(exc: Throttled) -> Response:
    # A page, not a 500, and when to come back.
    response = _page("throttled", 429, retry_after=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.app_errorhandler(Busy)
def _app_busy(exc: Busy) -> Response:
    # The per-process cap on password checks, or the throttle store not answering.
    response = _page("app_busy", 503)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
