"""One-line structured log output: ``message key=value …`` with the kit's extra fields.

Records pass through :data:`~.secret.SCRUBBER` first, so a token can't reach a handler. The
message and every field are kept on one line (CR, LF and other control characters are escaped),
so a hostile value such as ``acme\\r\\nX-A: 1`` cannot forge a log line (SEC-01). Used by the
command line and by :class:`~gorgias_appkit.web.GorgiasKit` (``GORGIAS_LOG_LEVEL``). Stdlib only.
"""

from __future__ import annotations

import logging

from .secret import SCRUBBER

_FIELDS = ("account", "event", "token_fp", "status", "rotated", "reason")


def one_line(text: str) -> str:
    """Escape control characters (CR, LF, NUL, ESC …) so ``text`` stays on one log line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class KeyValueFormatter(logging.Formatter):
    """``2026-11-27T21:00:00 INFO gorgias_appkit.tokens token refreshed account=acme …``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        extras = [f"{k}={one_line(str(getattr(record, k)))}" for k in _FIELDS if hasattr(record, k)]
        text = " ".join([line, *extras])
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return SCRUBBER.scrub(text)


def stderr_handler() -> logging.Handler:
    """A handler writing scrubbed key=value lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(SCRUBBER)
    return handler
