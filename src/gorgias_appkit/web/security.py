"""Browser-side security for the Flask glue: cookies, CSRF tokens, response headers.

- The install cookie binds a state to the browser that started it (SEC-03); ``__Host-`` prefixed
  and ``Secure`` whenever the app is served over https (SEC-11/12); always HttpOnly, SameSite=Lax
  (SEC-10: Strict would drop it on Gorgias' cross-site redirect back).
- CSRF: one random token per session, checked on every state-changing POST (SEC-10).
- Which accounts a browser may view lives in the signed session; never a token (SEC-12).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask
from flask import Response
from flask import abort
from flask import request
from flask import session

INSTALL_COOKIE = "gorgias_install"
_CSRF_KEY = "csrf"
_ACCOUNTS_KEY = "accounts"


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


def set_install_cookie(response: Response, value: str, *, secure: bool, max_age: int) -> None:
    """Bind the pending install to this browser."""
    response.set_cookie(
        install_cookie_name(secure), value, max_age=max_age, path="/", secure=secure,
        httponly=True, samesite="Lax",
    )


def clear_install_cookie(response: Response, *, secure: bool) -> None:
    """Forget the browser binding after the callback."""
    response.delete_cookie(
        install_cookie_name(secure), path="/", secure=secure, httponly=True, samesite="Lax"
    )


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF_KEY] = token
    return token


def require_csrf() -> None:
    """Abort with 403 unless the form carries this session's CSRF token."""
    expected = session.get(_CSRF_KEY)
    sent = request.form.get("csrf_token", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
        abort(403, description="The form expired or came from another site. Reload and retry.")


def viewable_accounts() -> list[str]:
    """Accounts this browser installed (or reconnected) in its current session."""
    value = session.get(_ACCOUNTS_KEY)
    return [a for a in value if isinstance(a, str)] if isinstance(value, list) else []


def start_fresh_session(account: str) -> None:
    """Regenerate the session after an install (SEC-11), carrying over only the account list."""
    accounts = [a for a in viewable_accounts() if a != account] + [account]
    session.clear()
    session[_ACCOUNTS_KEY] = accounts[-20:]
    session[_CSRF_KEY] = secrets.token_urlsafe(32)


def forget_account(account: str) -> None:
    """Stop showing ``account`` to this browser (after a disconnect)."""
    session[_ACCOUNTS_KEY] = [a for a in viewable_accounts() if a != account]


def security_headers(response: Response) -> Response:
    """Headers on every response of the app (SEC-16)."""
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    )
    return response
