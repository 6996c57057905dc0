"""werkzeug servers in threads for ``demo`` and tests (``serve`` runs gunicorn: ``serving.py``)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server


class PlainRequestHandler(WSGIRequestHandler):
    """werkzeug's request log without its ANSI colours, which end up in log files as noise."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log ``METHOD path version" status size`` as plain text (control characters escaped)."""
        line = getattr(self, "requestline", "")
        self.log("info", '"%s" %s %s', line.translate(self._control_char_table), code, size)


class ThreadedServer:
    """A werkzeug server in a daemon thread (demo and tests); ``port=0`` picks a free port."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=PlainRequestHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.server.host}:{self.server.port}"

    def start(self) -> ThreadedServer:
        """Start serving in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
