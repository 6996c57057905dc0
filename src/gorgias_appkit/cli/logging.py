"""Logging for the command line: scrubbed key=value lines (``core/logformat.py``) on stderr."""

from __future__ import annotations

import logging

from ..core.logformat import KeyValueFormatter
from ..core.logformat import stderr_handler


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send scrubbed key=value lines to stderr (entry points call this once)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, KeyValueFormatter) for h in root.handlers):
        return
    root.addHandler(stderr_handler())
    root.setLevel(level)
    # Alembic narrates every migration step at INFO on every command, and Huey two lines per task
    # (the periodic jobs every minute; the kit logs each event's outcome itself): DEBUG runs only.
    if logging.getLevelName(level) != "DEBUG" and level != logging.DEBUG:
        for chatty in ("alembic", "huey"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
