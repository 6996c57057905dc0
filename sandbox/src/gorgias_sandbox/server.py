"""Running the sandbox on werkzeug's threaded server: blocking, or in a background thread.

:func:`serve_sandbox` blocks (for the CLI) and prints the banner (``banner.py``).
:class:`SandboxServer` is a context manager for tests: it starts the server on a given or
ephemeral port (0) in a daemon thread and exposes ``.url``, ``.world``, ``.app`` and
``.control`` (a :class:`SandboxControl`).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sandbox, world_of
from .banner import banner, display_url
from .config import SandboxConfig
from .control_client import SandboxControl
from .world import World


class _Handler(WSGIRequestHandler):
    """Request handler that ends the connection after a dropped request (fault injection).

    Without this, werkzeug would try to read a next request from the half-read socket.
    """

    quiet = False

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        if not self.quiet:
            super().log_request(*args, **kwargs)


class _QuietHandler(_Handler):
    """Request handler that does not log every request to stderr."""

    quiet = True


class SandboxServer:
    """A sandbox on a real socket in a daemon thread. Use as a context manager."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        app: Flask | None = None,
        quiet: bool = True,
    ) -> None:
        self.app = app or create_sandbox(config)
        self.host, self._port, self.quiet = host, port, quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._control: SandboxControl | None = None

    @property
    def world(self) -> World:
        return world_of(self.app)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SandboxServer is not running")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321`` (accounts live at ``{url}/{account}``)."""
        return f"http://{self.host}:{self.port}"

    def account_url(self, account: str) -> str:
        """An account's issuer / base URL."""
        return f"{self.url}/{account}"

    @property
    def control(self) -> SandboxControl:
        if self._control is None:
            self._control = SandboxControl(self.url)
        return self._control

    def start(self) -> SandboxServer:
        handler = _QuietHandler if self.quiet else _Handler
        self._server = make_server(
            self.host, self._port, self.app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_sandbox(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8800,
    quiet: bool = False,
) -> None:
    """Serve the sandbox until interrupted, printing the start-up banner first.

    werkzeug's threaded server; every request is logged to stderr unless ``quiet``.
    """
    config = config or SandboxConfig()
    handler = _QuietHandler if quiet else _Handler
    server = make_server(host, port, create_sandbox(config), threaded=True, request_handler=handler)
    print(banner(config, display_url(host, server.server_port)), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
