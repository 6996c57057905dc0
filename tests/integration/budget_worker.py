"""The body of one app process in the multi-process budget tests (imports only the kit)."""

from __future__ import annotations

from typing import Any

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.metrics import METRICS


def run_batch(env: dict[str, str], calls: int, go: Any, results: Any) -> None:
    """Build a Kit on the shared database, wait for the start signal, send ``calls`` GETs."""
    try:
        kit = Kit(KitSettings.from_mapping(env), migrate=False)
        client = kit.client_for("acme")
        results.put(("ready", None))
        go.wait(30)
        for _ in range(calls):
            client.get("/tickets", {"limit": 1})
        results.put(("done", METRICS.value("gorgias_api_429_total", account="acme")))
        kit.close()
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))
