"""Trust the forwarded headers of the operator's reverse proxies, and only those it names.

``GORGIAS_PROXY_FIX`` is the number of proxies in front of the app; ``GORGIAS_PROXY_HEADERS``
(default ``for,proto``) the ``X-Forwarded-*`` headers they set. Werkzeug's ``ProxyFix`` reads
only those; any other forwarded header a client sends is ignored (a trusted
``X-Forwarded-Prefix: //evil.example`` made the login redirect point to another site). When the
operator does trust ``prefix``, a value that is not a plain path is refused with 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from .extension import get_kit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

_PLAIN_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


class _PrefixGuard:
    """Runs inside ProxyFix: refuses a forwarded prefix that is not a plain path."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        prefix = environ.get("SCRIPT_NAME", "")
        if not _PLAIN_PREFIX.fullmatch(prefix) or "/../" in f"{prefix}/" or "/./" in f"{prefix}/":
            refused = Response("bad X-Forwarded-Prefix\n", 400, content_type="text/plain")
            return refused(environ, start_response)
        return self.app(environ, start_response)


def trust_proxies(app: Flask) -> None:
    """Wrap ``app`` in ``ProxyFix`` as the settings say (nothing when ``GORGIAS_PROXY_FIX=0``).

    Call it once, after ``GorgiasKit(app)``.
    """
    with app.app_context():
        web = get_kit().settings.web
    if web.proxy_fix == 0:
        return
    options: dict[str, Any] = web.proxy_fix_options()
    guarded = _PrefixGuard(app.wsgi_app) if options["x_prefix"] else app.wsgi_app
    app.wsgi_app = ProxyFix(guarded, **options)  # type: ignore[method-assign]
