"""The reference app: what a partner's own Gorgias app looks like, built on the public API only.

``create_app(test_config=None)``, flaskr style: defaults → ``GORGIAS_*`` environment variables →
``test_config`` → :class:`GorgiasKit` with the app's declared integrations and widgets
(``integrations.py``: the kit creates them on install and serves the calls Gorgias makes) →
blueprints. Behind a reverse proxy set
``GORGIAS_PROXY_FIX`` to the number of proxies so Flask trusts their ``X-Forwarded-*`` headers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gorgias_appkit import ConfigError
from gorgias_appkit.web import GorgiasKit
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
    _trust_proxies(app)
    GorgiasKit(integrations=integrations).init_app(app)
    init_operator(app)
    init_metrics(app)
    app.register_blueprint(dashboard.bp)
    return app


def _trust_proxies(app: Flask) -> None:
    raw = str(app.config.get("GORGIAS_PROXY_FIX") or "0").strip()
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError([f"GORGIAS_PROXY_FIX must be the number of proxies (0-5), got {raw!r}"])
    if hops := int(raw):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
