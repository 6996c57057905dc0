"""GorgiasKit: the Flask extension. Settings come from ``app.config`` (``GORGIAS_*`` keys).

``init_app`` validates everything at start-up (one :class:`ConfigError` listing every problem),
builds the :class:`Kit`, runs the migrations, and registers the install blueprint. The kit lives
in ``app.extensions["gorgias_appkit"]``; views read it through :func:`get_kit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app

from ..config import KitSettings
from ..devkeys import with_defaults
from ..errors import ConfigError
from ..kit import Kit
from . import security
from .views import bp

EXTENSION_KEY = "gorgias_appkit"


class GorgiasKit:
    """``GorgiasKit(app)`` or ``ext = GorgiasKit(); ext.init_app(app)``."""

    def __init__(self, app: Flask | None = None, **kit_options: Any) -> None:
        self.kit_options = kit_options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> Kit:
        """Validate settings, build the kit and register the blueprint on ``app``."""
        values = {k: str(v) for k, v in app.config.items() if k.startswith("GORGIAS_")}
        settings = KitSettings.from_mapping(
            with_defaults(values, instance_path=Path(app.instance_path))
        )
        if settings.secret_key is None:
            raise ConfigError(
                ["GORGIAS_SECRET_KEY is required (32+ random characters) to sign sessions"]
            )
        kit = Kit(settings, **self.kit_options)
        app.secret_key = settings.secret_key.reveal()
        secure = settings.app_url.startswith("https://")
        security.configure_cookies(app, secure=secure)
        app.extensions[EXTENSION_KEY] = kit
        app.register_blueprint(bp)
        app.after_request(security.security_headers)
        return kit


def get_kit() -> Kit:
    """Return the current app's kit."""
    kit = current_app.extensions[EXTENSION_KEY]
    assert isinstance(kit, Kit)
    return kit
