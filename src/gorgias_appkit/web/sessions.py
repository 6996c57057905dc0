"""Server-side sessions for the Flask glue: what a browser may see lives in the database.

Flask's signed cookie carries only a random session id (``sid``), this browser's CSRF token and
flashed messages. The record the id points to (:class:`~gorgias_appkit.store.sql.sessions.
SQLSessionStore`, shared by every worker and instance) says which accounts the browser may view
and whether it holds an admin login, since when. So a session ends server-side,
and a saved copy of the cookie is worth nothing afterwards:

- at admin logout (the record is deleted);
- at disconnect, from any page or the CLI (``Kit.disconnect`` withdraws the account from every
  session; a session left with nothing is deleted);
- when another browser installs the same account (every other session loses it; the installing
  browser gets a fresh session id and CSRF token, SEC-11);
- after ``GORGIAS_SESSION_IDLE_TIMEOUT`` without use or ``GORGIAS_SESSION_LIFETIME`` in all;
- when the secret key changes without ``GORGIAS_SECRET_KEY_FALLBACKS`` (no cookie verifies).

The record is read once per request (cached in ``flask.g``) and its last use written at most
once a minute, so browsing costs one indexed read per request.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import current_app
from flask import g
from flask import session

from ..core.account import Account
from ..core.records import WebSession
from ..kit import Kit

_SID_KEY = "sid"
_CSRF_KEY = "csrf"
_SID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_CACHE = "_gorgias_web_session"
_TOUCH_EVERY = timedelta(seconds=60)
MAX_ACCOUNTS = 20


def _kit() -> Kit:
    kit = current_app.extensions["gorgias_appkit"]
    if not isinstance(kit, Kit):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return kit


def current_session() -> WebSession | None:
    """This browser's live session record, or ``None`` (no cookie, ended, or expired)."""
    if _CACHE in g:
        cached: WebSession | None = g.get(_CACHE)
        return cached
    sid = session.get(_SID_KEY)
    found = None
    if isinstance(sid, str) and _SID.fullmatch(sid):
        kit = _kit()
        found = kit.sessions.find(sid)
        if found is not None and kit.clock.now() - found.last_seen_at >= _TOUCH_EVERY:
            kit.sessions.touch(sid)
    setattr(g, _CACHE, found)
    return found


def viewable_accounts() -> list[str]:
    """Accounts this browser installed (or reconnected) in its current, live session."""
    found = current_session()
    return [str(a) for a in found.accounts] if found else []


def admin_user() -> tuple[str, float] | None:
    """The admin this browser is logged in as and the login's age in seconds, if any."""
    found = current_session()
    if found is None or found.admin_user is None or found.admin_since is None:
        return None
    return found.admin_user, (_kit().clock.now() - found.admin_since).total_seconds()


def start_fresh_session(account: str) -> None:
    """After an install: end every other session's hold on ``account``; a new one here (SEC-11).

    The new session carries the accounts this browser's previous (live) session held, but not
    an admin login; everything else the old cookie held (its CSRF token) is dropped.
    """
    name = Account(account)
    kit = _kit()
    previous = current_session()
    carried = [a for a in (previous.accounts if previous else ()) if a != name] + [name]
    _end_current()
    kit.sessions.withdraw(name)
    _begin(accounts=carried[-MAX_ACCOUNTS:], admin=None)


def log_admin_in(user: str) -> None:
    """Start a new session (new id, new CSRF token) holding an admin login for ``user``."""
    previous = current_session()
    accounts = list(previous.accounts) if previous else []
    _end_current()
    _begin(accounts=accounts, admin=user)


def end_session() -> None:
    """End this browser's session server-side and empty its cookie (admin logout)."""
    _end_current()
    session.clear()


def _end_current() -> None:
    sid = session.get(_SID_KEY)
    if isinstance(sid, str) and _SID.fullmatch(sid):
        _kit().sessions.end(sid)
    g.pop(_CACHE, None)


def _begin(*, accounts: list[Account], admin: str | None) -> None:
    sid = secrets.token_urlsafe(32)
    record = _kit().sessions.create(sid, accounts=accounts, admin_user=admin)
    session.clear()
    session[_SID_KEY] = sid
    session[_CSRF_KEY] = secrets.token_urlsafe(32)
    setattr(g, _CACHE, record)
