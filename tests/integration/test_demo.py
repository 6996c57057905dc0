"""`gorgias-appkit demo` (what `make demo` runs): two real servers, an install over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from ..conftest import free_port
from ..conftest import wait_until_up


def test_demo_serves_install_to_dashboard(tmp_path: Path) -> None:
    """Fresh folder: the demo installs acme; a sandbox ticket shows the app's card (issue 11)."""
    port, sandbox_port = free_port(), free_port()
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
        wait_until_up(f"{app}/healthz", proc)
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
            # Issue 11 (the README's quick start): a sandbox ticket shows the app's card.
            tickets = browser.get(f"http://127.0.0.1:{sandbox_port}/acme/tickets")
            first = re.findall(r'href="(/acme/tickets/[0-9]+)"', tickets.text)[0]
            page = browser.get(f"http://127.0.0.1:{sandbox_port}{first}", timeout=30).text
            assert "Customer&#39;s other tickets" in page
            assert 'data-path="open"' in page and "No answer from this integration" not in page
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
