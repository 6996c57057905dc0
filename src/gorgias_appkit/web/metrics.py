"""``GET /metrics`` in the Prometheus text format, for the operator's monitoring.

Gauges are read from the database at scrape time (installations by health, live ledger objects,
so every process reports the same numbers); counters are :data:`gorgias_appkit.metrics.METRICS`
(refreshes by result and reason, token endpoint retries, API calls and 429s per account,
rate-budget waits), summed over every worker of ``serve`` (prometheus_client's multiprocess
mode, see :mod:`gorgias_appkit.metrics`). Labels hold account names and reasons, never a token.
Access: a bearer ``GORGIAS_METRICS_TOKEN`` (for the scraper) or an admin login; with neither
configured the endpoint answers 404.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import request

from ..metrics import CONTENT_TYPE
from ..metrics import METRICS
from ..metrics import Gauge
from .extension import get_kit
from .operator import admin_configured
from .operator import is_admin

bp = Blueprint("metrics", __name__)


def init_metrics(app: Flask) -> None:
    """Add ``/metrics`` to ``app``."""
    app.register_blueprint(bp)


def _bearer_ok() -> bool:
    expected = get_kit().settings.web.metrics_token
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return (
        expected is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode(), expected.reveal().encode())
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Installations by health and the kit's counters; bearer token or admin login."""
    if get_kit().settings.web.metrics_token is None and not admin_configured():
        abort(404)
    if not (_bearer_ok() or is_admin()):
        response = Response("authentication required\n", 401, content_type=CONTENT_TYPE)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    kit = get_kit()
    gauges: dict[str, Gauge] = {
        "gorgias_installations": (
            "Installations by health.",
            "status",
            {status: float(n) for status, n in kit.store.count_by_status().items()},
        ),
        "gorgias_ledger_objects": (
            "Objects the app created and has not removed, by kind.",
            "kind",
            {kind: float(n) for kind, n in kit.ledger.live_counts().items()},
        ),
    }
    response = Response(METRICS.render(gauges), content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
