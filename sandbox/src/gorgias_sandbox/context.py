"""Per-request context: the app's :class:`World`, the account in the path and its issuer URL.

The request pipeline (``app.py``) resolves ``/{account}/...`` once per request and stores the
account in ``flask.g``; everything else reads it from here.
"""

from __future__ import annotations

from flask import current_app, g, request

from .world import AccountData, World

EXTENSION_KEY = "gorgias_sandbox"


def current_world() -> World:
    """The :class:`World` of the running sandbox app."""
    world: World = current_app.extensions[EXTENSION_KEY]
    return world


def current_account() -> AccountData:
    """The account named in the request path (already checked to exist)."""
    account: AccountData = g.sandbox_account
    return account


def issuer_for(domain: str) -> str:
    """The account's issuer / base URL, computed from the request (any host, any port)."""
    return request.host_url.rstrip("/") + "/" + domain


def current_issuer() -> str:
    return issuer_for(current_account().domain)
