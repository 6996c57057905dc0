"""GorgiasKit: the Flask extension. Settings come from ``app.config`` (``GORGIAS_*`` keys).

``init_app`` validates everything at start-up (one :class:`ConfigError` listing every problem:
in production mode a missing ``GORGIAS_ENCRYPTION_KEYS`` or ``GORGIAS_SECRET_KEY`` stops the app
from starting; so does a declared widget reading a path its handler's sample lacks), builds the
:class:`Kit`, runs the migrations, declares the app's ``integrations``, registers the install
blueprint and the endpoints Gorgias calls (``web/inbound.py``), the CSRF check for every
state-changing request, the request deadline (``GORGIAS_REQUEST_DEADLINE``, :mod:`.deadline`),
the security headers (and ``Cache-Control: no-store`` on every page), the throttles
(:mod:`.throttle`), the secret-key fallbacks, a JSON ``default`` that masks :class:`Secret`
values, and the secret scrubber on werkzeug's request log (so ``flask run`` never prints a
callback's ``code`` or ``state``). The kit lives in
``app.extensions["gorgias_appkit"]``; views read it through :func:`get_kit`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app

from ..core.logformat import KeyValueFormatter
from ..core.logformat import stderr_handler
from ..core.secret import Secret
from ..core.secret import install_log_scrubber
from ..core.settings import KitSettings
from ..errors import ConfigError
from ..inbound.declarations import Integrations
from ..kit import Kit
from ..store.instance import with_defaults
from . import security
from .deadline import init_deadline
from .inbound import bp as inbound_bp
from .throttle import EXTENSION_KEY as THROTTLE_KEY
from .throttle import Throttle
from .views import bp

EXTENSION_KEY = "gorgias_appkit"


class GorgiasKit:
    """``GorgiasKit(app)`` or ``ext = GorgiasKit(); ext.init_app(app)``."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        integrations: Integrations | None = None,
        **kit_options: Any,
    ) -> None:
        self.integrations = integrations
        self.kit_options = kit_options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> Kit:
        """Validate settings, build the kit and register the blueprint on ``app``."""
        values = {k: str(v) for k, v in app.config.items() if k.startswith("GORGIAS_")}
        settings = KitSettings.from_mapping(
            with_defaults(values, instance_path=Path(app.instance_path)), web_app=True
        )
        kit = Kit(settings, **self.kit_options)
        if self.integrations is not None:
            try:
                kit.declare(self.integrations)  # a widget path missing from its sample stops here
            except ConfigError:
                kit.close()
                raise
        app.secret_key = settings.secret_key.reveal() if settings.secret_key else None
        # A rotation rolled out with the old key here keeps every session; without it, every
        # cookie stops verifying and every session ends.
        app.config["SECRET_KEY_FALLBACKS"] = [
            key.reveal() for key in settings.web.secret_key_fallbacks
        ]
        secure = settings.app_url.startswith("https://")
        security.configure_cookies(app, secure=secure)
        _mask_secrets_in_json(app)
        # werkzeug's request log (``flask run``, the demo) must not show a callback's code.
        install_log_scrubber(logging.getLogger("werkzeug"))
        _kit_log_lines(app.config.get("GORGIAS_LOG_LEVEL"))
        app.extensions[EXTENSION_KEY] = kit
        app.extensions[THROTTLE_KEY] = Throttle(
            kit.throttle_storage, web=settings.web, clock=kit.clock
        )
        app.register_blueprint(bp)
        app.register_blueprint(inbound_bp)
        app.before_request(security.csrf_protect)
        init_deadline(app)  # first of every before_request hook
        app.after_request(security.security_headers)
        return kit


def _kit_log_lines(level: object) -> None:
    """With ``GORGIAS_LOG_LEVEL`` set, print the kit's own lines (scrubbed) to stderr.

    Unset, the ``gorgias_appkit`` loggers follow the app's own logging configuration, like any
    library's (then attach :data:`~gorgias_appkit.core.secret.SCRUBBER` to your handlers).
    """
    if not level:
        return
    logger = logging.getLogger("gorgias_appkit")
    if not any(isinstance(h.formatter, KeyValueFormatter) for h in logger.handlers):
        logger.addHandler(stderr_handler())
        logger.propagate = False  # not twice when the app also logs the root logger
    logger.setLevel(str(level).upper())


def _mask_secrets_in_json(app: Flask) -> None:
    """Make ``jsonify``/``app.json.dumps`` print a :class:`Secret` as its mask (SEC-13)."""
    provider = app.json
    previous = getattr(provider, "default", None)
    if previous is None:  # a custom provider without a default hook: leave it alone
        return

    def default(value: object) -> object:
        if isinstance(value, Secret):
            return value.to_json()
        return previous(value)

    provider.default = default  # type: ignore[attr-defined]


def get_kit() -> Kit:
    """Return the current app's kit."""
    kit = current_app.extensions[EXTENSION_KEY]
    if not isinstance(kit, Kit):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return kit
