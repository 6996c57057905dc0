"""`gorgias-appkit demo` (what `make demo` runs): two real servers, an install over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the demo exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_demo_serves_install_to_dashboard(tmp_path: Path) -> None:
    """A fresh folder: the demo starts on built-in defaults; an install reaches the dashboard."""
    port, sandbox_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GORGIAS_", "SANDBOX_"))}
    exe = Path(sys.executable).with_name("gorgias-appkit")
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [str(exe), "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    app = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{app}/healthz", proc)
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            authorize = browser.get(f"{app}/oauth/install", params={"account": "acme"})
            assert authorize.status_code == 302
            consent = browser.get(authorize.headers["location"])
            assert consent.status_code == 200 and "tickets:read" in consent.text
            user = re.findall(r'<option[^>]*value="([^"]+)"', consent.text)[0]
            back = browser.post(
                authorize.headers["location"], data={"decision": "approve", "user_id": user}
            )
            callback = browser.get(back.headers["location"])
            assert callback.status_code == 303
            dashboard = browser.get(app + callback.headers["location"])
            assert dashboard.status_code == 200
            assert "Acme" in dashboard.text and "Latest tickets" in dashboard.text
        # Development mode keeps its generated keys and database in ./instance.
        assert (tmp_path / "instance" / "gorgias-appkit.sqlite3").exists()
        assert (tmp_path / "instance" / "dev-gorgias_encryption_keys.txt").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=10)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    assert "Open the app" in output
    assert "Traceback" not in output
