"""In-process counters and gauges, rendered in the Prometheus text format. Stdlib only.

Each process counts its own events (as prometheus_client does without its multiprocess mode);
gauges computed from the database at scrape time (installations by health) are exact.
Labels never hold a token: only account names, reasons and status codes.
"""

from __future__ import annotations

import threading
from collections import defaultdict

Labels = tuple[tuple[str, str], ...]

HELP = {
    "gorgias_refresh_total": "Token refreshes by result and reason.",
    "gorgias_token_endpoint_retries_total": "Retries of token endpoint calls.",
    "gorgias_api_calls_total": "Gorgias API calls by account and status.",
    "gorgias_api_429_total": "429 answers from the Gorgias API by account.",
    "gorgias_rate_wait_seconds_total": "Time spent waiting for rate budget by account.",
    "gorgias_rate_waits_total": "Times a call waited for rate budget by account.",
}


class Metrics:
    """A thread-safe registry of counters keyed by name and labels."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._lock = threading.Lock()

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` with ``labels``."""
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            self._values[name][key] += amount

    def value(self, name: str, **labels: str) -> float:
        """Return one counter's value (0 if never incremented)."""
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            return self._values.get(name, {}).get(key, 0.0)

    def render(self, gauges: dict[str, dict[Labels, float]] | None = None) -> str:
        """Return every counter (and the given gauges) in the Prometheus text format."""
        lines: list[str] = []
        with self._lock:
            snapshot = {n: dict(v) for n, v in self._values.items()}
        for name, series in sorted((gauges or {}).items()):
            lines += [
                f"# TYPE {name} gauge",
                *(_line(name, k, v) for k, v in sorted(series.items())),
            ]
        for name, series in sorted(snapshot.items()):
            if name in HELP:
                lines.append(f"# HELP {name} {HELP[name]}")
            lines.append(f"# TYPE {name} counter")
            lines += [_line(name, k, v) for k, v in sorted(series.items())]
        return "\n".join(lines) + "\n"


def _line(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {value:g}"
    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{name}{{{text}}} {value:g}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = Metrics()
