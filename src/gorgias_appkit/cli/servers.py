"""Run the reference app: gunicorn for ``serve`` (production), werkzeug threads for ``demo``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import make_server


def run_gunicorn(app_factory: Callable[[], Flask], *, host: str, port: int, workers: int) -> None:
    """Serve ``app_factory()`` with gunicorn; every worker builds its own app (no shared pools)."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self) -> Any:
            return app_factory()

    _App().run()


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
