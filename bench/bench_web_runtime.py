"""The web runtime, hostile conditions: the dashboard in a 429 storm, slow sockets vs /healthz.

1. 429 storm (issue 9, item 2): the reference app's dashboard while ``GET /api/account`` answers
   429 three times. Seconds the page took and its status, for ``Retry-After: 25`` (the issue's
   storm: the page used to wait 75 s) and ``Retry-After: 4`` (retries that fit the deadline
   until they do not), with the default ``GORGIAS_REQUEST_DEADLINE`` of 10 s. Flask's test
   client against a sandbox on a real socket.
2. Slow sockets (item 10): a real ``gorgias-appkit serve`` (2 gthread workers x 4 threads); we
   open sockets that send a partial request line and headers and never finish, one more at a
   time, and after each ask ``/healthz`` (3 s patience). The figure is how many such sockets
   ``/healthz`` survived; a reverse proxy that buffers requests (see the README) is what protects
   a real deployment from many more.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from gorgias_appkit.starter import create_app
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxConfig
from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's fake client
APP_URL = "http://127.0.0.1:8000"
MAX_SOCKETS = 12


def run() -> None:
    """Print every figure; called by ``python -m bench``."""
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        storm(Path(folder))
        slow_sockets(Path(folder))


def storm(folder: Path) -> None:
    config = SandboxConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(f"{APP_URL}/oauth/callback",),
        rate_limit_enabled=False,
    )
    with SandboxServer(config) as server:
        sandbox = SandboxControl(server.url)
        app = create_app(
            {
                "GORGIAS_CLIENT_ID": CLIENT_ID,
                "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
                "GORGIAS_APP_URL": APP_URL,
                "GORGIAS_URL_TEMPLATE": f"{server.url}/{{account}}",
                "GORGIAS_DATABASE_URL": f"sqlite:///{folder / 'storm.sqlite3'}",
                "GORGIAS_ENCRYPTION_KEYS": generate_key(),
                "GORGIAS_SECRET_KEY": "b" * 40,
            }
        )
        client = app.test_client()
        driver = InstallDriver(client)
        driver.install("acme")
        deadline = app.extensions["gorgias_appkit"].settings.request_deadline
        print(f"   dashboard, 3 x 429 on /api/account, request deadline {deadline:g} s:")
        for retry_after in (25, 4):
            sandbox.add_fault(
                path="/api/account", mode="status", status=429, retry_after=retry_after, count=3
            )
            started = time.perf_counter()
            page = client.get("/accounts/acme")
            took = time.perf_counter() - started
            sandbox.clear_faults()
            print(
                f"     Retry-After {retry_after:>2}: {page.status_code} in {took:5.2f} s "
                f"(Retry-After header {page.headers.get('Retry-After', '-')})"
            )
        driver.close()
        app.extensions["gorgias_appkit"].close()
        sandbox.close()


def slow_sockets(folder: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGIAS_")}
    env.pop("WEB_CONCURRENCY", None)
    env.update(
        GORGIAS_CLIENT_ID=CLIENT_ID,
        GORGIAS_CLIENT_SECRET=CLIENT_SECRET,
        GORGIAS_APP_URL="https://app.example.com",
        GORGIAS_DATABASE_URL=f"sqlite:///{folder / 'serve.sqlite3'}",
        GORGIAS_ENCRYPTION_KEYS=generate_key(),
        GORGIAS_SECRET_KEY="b" * 40,
    )
    exe = str(Path(sys.executable).with_name("gorgias-appkit"))
    args = [exe, "serve", "--port", str(port), "--workers", "2", "--threads", "4"]
    with (folder / "serve.log").open("wb") as log:
        proc = subprocess.Popen(args, env=env, cwd=folder, stdout=log, stderr=log)  # noqa: S603
    url = f"http://127.0.0.1:{port}/healthz"
    sockets: list[socket.socket] = []
    try:
        _wait_up(url)
        survived = 0
        for count in range(1, MAX_SOCKETS + 1):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sockets.append(sock)
            time.sleep(0.2)  # let a worker pick it up
            try:
                ok = httpx.get(url, timeout=3).status_code == 200
            except httpx.TransportError:
                ok = False
            if not ok:
                break
            survived = count
        verdict = "all" if survived == MAX_SOCKETS else f"not {survived + 1}"
        print(
            f"   serve, 2 gthread workers x 4 threads: /healthz survived {survived} "
            f"partial-header sockets ({verdict})"
        )
    finally:
        for sock in sockets:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str) -> None:
    for _ in range(150):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("serve did not start")
