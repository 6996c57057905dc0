"""One-line structured log output: ``message key=value …`` with the kit's extra fields.

Records pass through :data:`redact.SCRUBBER` first, so a token can't reach a handler. Stdlib only.
"""

from __future__ import annotations

import logging

from .redact import SCRUBBER

_FIELDS = ("account", "event", "token", "status", "rotated", "reason")


class KeyValueFormatter(logging.Formatter):
    """``2026-11-27T21:00:00 INFO gorgias_appkit.tokens token refreshed account=acme …``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in _FIELDS if hasattr(record, k)]
        return SCRUBBER.scrub(" ".join([line, *extras]))


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send scrubbed key=value lines to stderr (entry points call this once)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, KeyValueFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(SCRUBBER)
    root.addHandler(handler)
    root.setLevel(level)
