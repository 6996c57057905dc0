"""The reference app: what a partner's own Gorgias app looks like, built on the public API only.

``create_app(test_config=None)``, flaskr style: defaults → ``GORGIAS_*`` environment variables →
``test_config`` → :class:`GorgiasKit` with the app's declared integrations and widgets
(``integrations.py``: the kit creates them on install and serves the calls Gorgias makes) →
blueprints. Behind a reverse proxy set ``GORGIAS_PROXY_FIX`` to the number of proxies, and
``GORGIAS_PROXY_HEADERS`` to the ``X-Forwarded-*`` headers they set (``for,proto`` unless told
otherwise); both are validated with every other setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask import make_response
from flask import render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound

from gorgias_appkit.web import GorgiasKit
from gorgias_appkit.web import trust_proxies
from gorgias_appkit.web.metrics import init_metrics
from gorgias_appkit.web.operator import init_operator

from . import dashboard
from .integrations import integrations


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the reference app; settings are validated here, once."""
    # The instance folder (SQLite file, development keys) sits where the app is run, not
    # inside the installed package: ./instance unless GORGIAS_INSTANCE_PATH says otherwise.
    instance = os.environ.get("GORGIAS_INSTANCE_PATH") or os.path.abspath("instance")
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    app.config.update(APP_NAME="Gorgias AppKit demo", MAX_CONTENT_LENGTH=64 * 1024)
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("GORGIAS_")})
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    GorgiasKit(integrations=integrations).init_app(app)
    trust_proxies(app)
    init_operator(app)
    init_metrics(app)
    app.register_blueprint(dashboard.bp)
    app.register_error_handler(NotFound, _http_error)
    app.register_error_handler(MethodNotAllowed, _http_error)
    return app


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    """404 and 405 in the app's own page style (with a way home), not werkzeug's bare pages."""
    page = render_template("starter/http_error.html", code=exc.code, name=exc.name)
    response = make_response(page, exc.code or 500)
    response.headers["Cache-Control"] = "no-store"
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response
