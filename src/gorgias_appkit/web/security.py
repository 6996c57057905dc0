"""Browser-side security for the Flask glue: cookies, CSRF, return paths, response headers.

- The install cookie binds a state to the browser that started it (SEC-03); ``__Host-`` prefixed
  and ``Secure`` whenever the app is served over https (SEC-11/12); always HttpOnly, SameSite=Lax
  (SEC-10: Strict would drop it on Gorgias' cross-site redirect back), Path=/ and no Domain.
- CSRF: one random token per session, required on **every** state-changing request of the app
  (POST, PUT, PATCH, DELETE), whichever blueprint serves it, unless the view is explicitly marked
  :func:`csrf_exempt`; a foreign ``Origin`` or ``Sec-Fetch-Site: cross-site`` is refused as well
  (SEC-10).
- Return paths after an install are relative paths of this app's own GET routes, never URLs
  (SEC-09). The redirect_uri itself never comes from the request (``Host``/``X-Forwarded-*``).
- The signed session cookie holds a random session id, the CSRF token and flashed messages;
  never a token (SEC-12). What the id grants lives in the database (:mod:`.sessions`).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from flask import request
from flask import session
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

INSTALL_COOKIE = "gorgias_install"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_KEY = "csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_EXEMPT_ATTR = "_gorgias_csrf_exempt"
# A return path: an absolute path of plain characters. No scheme, host, backslash, percent,
# query or control character can get through, so no browser can read it as another origin.
_RETURN_PATH = re.compile(r"/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/?)*")
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # new_browser_id(): 32 random bytes, urlsafe
_PREFETCH = ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")

F = TypeVar("F", bound=Callable[..., object])


class CsrfRejected(Forbidden):
    """A state-changing request without this session's CSRF token, or from another origin."""

    description = "The form expired or came from another site. Reload the page and retry."


def configure_cookies(app: Flask, *, secure: bool) -> None:
    """Set the session cookie flags for the app's scheme."""
    app.config.update(
        SESSION_COOKIE_NAME="__Host-session" if secure else "session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
    )


def install_cookie_name(secure: bool) -> str:
    """Name of the browser-binding cookie (``__Host-`` needs Secure, so https only)."""
    return f"__Host-{INSTALL_COOKIE}" if secure else INSTALL_COOKIE


def browser_id(secure: bool) -> str | None:
    """This browser's binding value, if it sent a well-formed one."""
    value = request.cookies.get(install_cookie_name(secure))
    return value if value is not None and _BROWSER_ID.fullmatch(value) else None


def set_install_cookie(response: Response, value: str, *, secure: bool, max_age: int) -> None:
    """Bind the pending install to this browser."""
    response.set_cookie(
        install_cookie_name(secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


# -- CSRF ------------------------------------------------------------------------------------
def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF_KEY] = token
    return token


def csrf_exempt(view: F) -> F:
    """Mark a view that authenticates its state-changing requests some other way."""
    setattr(view, _EXEMPT_ATTR, True)
    return view


def require_csrf() -> None:
    """Raise :class:`CsrfRejected` unless the request carries this session's CSRF token."""
    expected = session.get(_CSRF_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRejected()
    # Defence in depth behind the token. ``Origin: null`` is what browsers send for a
    # same-origin form POST under ``Referrer-Policy: no-referrer`` (Fetch §3.2), so it carries
    # no information; a real foreign origin, or Sec-Fetch-Site: cross-site, is refused.
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and not _same_origin(origin):
        raise CsrfRejected()
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise CsrfRejected()


def csrf_protect() -> None:
    """``before_request`` hook: every state-changing request needs the token (SEC-10)."""
    if request.method not in _UNSAFE or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, _EXEMPT_ATTR, False):
        return
    require_csrf()


def _same_origin(origin: str) -> bool:
    kit = current_app.extensions.get("gorgias_appkit")
    app_url = getattr(getattr(kit, "settings", None), "app_url", "")
    mine, theirs = urlsplit(app_url), urlsplit(origin)
    return bool(mine.netloc) and (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)


# -- return paths and prefetches -------------------------------------------------------------
def safe_return_path(value: object) -> str | None:
    """Return ``value`` if it is a relative path to one of this app's pages, else ``None``.

    Allowlist, not blocklist (SEC-09): plain path characters only, no ``//`` and no dot
    segments, and the path must match a GET route of the app outside the install blueprint.
    """
    if not isinstance(value, str) or len(value) > 256 or not _RETURN_PATH.fullmatch(value):
        return None
    if "//" in value or "/./" in value or "/../" in value or value.endswith(("/.", "/..")):
        return None
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(value, method="GET")
    except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
        return None
    return None if str(endpoint).startswith("gorgias.") else value


def is_prefetch() -> bool:
    """Tell whether the browser is only prefetching (or previewing) this URL."""
    hints = " ".join(request.headers.get(h, "") for h in _PREFETCH).lower()
    return "prefetch" in hints or "prerender" in hints or "preview" in hints


# -- headers ---------------------------------------------------------------------------------
def security_headers(response: Response) -> Response:
    """Headers on every response of the app (SEC-16).

    Every response but static files is ``Cache-Control: no-store`` unless its view chose
    otherwise: pages show account data or carry a form's CSRF token.
    """
    endpoint = request.endpoint or ""
    if endpoint != "static" and not endpoint.endswith(".static"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        # No form-action: Chrome applies it to the redirect after the install form, which
        # leaves for the account's Gorgias host.
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    )
    return response
