"""werkzeug servers in threads for ``demo`` and tests (``serve`` runs gunicorn: ``serving.py``)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import make_server


class ThreadedServer:
    """A werkzeug server in a daemon thread (demo and tests); ``port=0`` picks a free port."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
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
