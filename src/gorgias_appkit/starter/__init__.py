"""The reference app: what a partner's own Gorgias app looks like, built on the public API only.

``create_app(test_config=None)``, flaskr style: defaults → ``GORGIAS_*`` environment variables →
``test_config`` → :class:`GorgiasKit` → blueprints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from gorgias_appkit.web import GorgiasKit

from . import dashboard


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
    GorgiasKit(app)
    app.register_blueprint(dashboard.bp)
    return app
