"""The app the inbound bench drives: one event integration whose handler logs each run.

Used by ``bench_inbound.py`` in three roles (spawned processes): the web app (``serve``), and
two ``gorgias-appkit worker`` processes (``GORGIAS_INTEGRATIONS=bench.inbound_app:integrations``).
The handler fails the first attempt of every tenth event (injected failures); every run that
succeeds appends one line ``event_id latency_ms attempts`` to a file of its own process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gorgias_appkit.inbound import EventCall
from gorgias_appkit.inbound import Integrations

integrations = Integrations()
FAIL_EVERY = 10


@integrations.event_handler("bench", triggers=("ticket-updated",))
def handle(call: EventCall) -> None:
    """Fail the first attempt of every tenth event; log every success with its latency."""
    started = time.time()
    event = call.event
    if abs(int(event.ticket_id or 0)) % FAIL_EVERY == 0 and event.attempts == 1:
        raise RuntimeError("injected failure")
    latency_ms = (started - event.received_at.timestamp()) * 1000
    folder = Path(os.environ["BENCH_RUNS"])
    with open(folder / f"runs-{os.getpid()}.log", "a", encoding="utf-8") as log:
        log.write(f"{event.id} {latency_ms:.2f} {event.attempts}\n")


def serve(port: int) -> None:
    """Serve a bare Flask app with the kit and these declarations (the web process)."""
    import logging

    from flask import Flask
    from werkzeug.serving import make_server

    from gorgias_appkit.web import GorgiasKit

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    app = Flask("bench_inbound")
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("GORGIAS_")})
    GorgiasKit(integrations=integrations).init_app(app)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()
