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


def install_through_the_browser(app: str) -> httpx.Response:
    """Install acme as a browser would (the sandbox's consent page included); the dashboard."""
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
        return browser.get(app + callback.headers["location"])


def start_demo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("gorgias-appkit")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GORGIAS_", "SANDBOX_"))}
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(exe), "demo", *args],
        cwd=tmp_path,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=10)[0].decode()
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0].decode()


def test_demo_serves_install_to_dashboard(tmp_path: Path) -> None:
    """Fresh folder: the demo installs acme; a sandbox ticket shows the app's card (issue 11)."""
    port, sandbox_port = free_port(), free_port()
    proc = start_demo(tmp_path, "--port", str(port), "--sandbox-port", str(sandbox_port))
    app = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{app}/healthz", proc)
        dashboard = install_through_the_browser(app)
        assert dashboard.status_code == 200
        assert "Acme" in dashboard.text and "Latest tickets" in dashboard.text
        with httpx.Client(timeout=30) as browser:
            # Issue 11 (the README's quick start): a sandbox ticket shows the app's card.
            tickets = browser.get(f"http://127.0.0.1:{sandbox_port}/acme/tickets")
            first = re.findall(r'href="(/acme/tickets/[0-9]+)"', tickets.text)[0]
            page = browser.get(f"http://127.0.0.1:{sandbox_port}{first}").text
            assert "Customer&#39;s other tickets" in page
            assert 'data-path="open"' in page and "No answer from this integration" not in page
        # Development mode keeps its generated keys and database in ./instance.
        assert (tmp_path / "instance" / "gorgias-appkit.sqlite3").exists()
        assert (tmp_path / "instance" / "dev-gorgias_encryption_keys.txt").exists()
    finally:
        output = stop(proc)
    assert "Open the app" in output
    assert "Traceback" not in output


def test_demo_ignores_the_callers_settings_and_logs_plain_masked_lines(tmp_path: Path) -> None:
    """Issue 13: an exported database URL and keys are not used (sandbox installs never land in
    a real database); the log has no ANSI colour codes, no code or state, no Alembic chatter."""
    port, sandbox_port = free_port(), free_port()
    real = tmp_path / "real-database.sqlite3"
    hostile = {
        "GORGIAS_DATABASE_URL": f"sqlite:///{real}",
        "GORGIAS_ENCRYPTION_KEYS": "not-a-key",
        "GORGIAS_MODE": "production",
    }
    proc = start_demo(
        tmp_path, "--port", str(port), "--sandbox-port", str(sandbox_port), env=hostile
    )
    app = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{app}/healthz", proc)
        assert install_through_the_browser(app).status_code == 200
    finally:
        output = stop(proc)
    assert not real.exists()
    assert (tmp_path / "instance" / "gorgias-appkit.sqlite3").exists()
    assert "ignoring 3 GORGIAS_* variable(s)" in output
    assert "\x1b[" not in output
    assert "/oauth/callback?code=***&state=***" in output
    assert not re.search(r"code=(?!\*\*\*)", output)
    assert "alembic" not in output
    assert "Traceback" not in output


def test_demo_on_all_interfaces_serves_through_localhost(tmp_path: Path) -> None:
    """Issue 13: ``--host 0.0.0.0`` (a container or a VM) works: the URLs say localhost."""
    port, sandbox_port = free_port(), free_port()
    proc = start_demo(
        tmp_path,
        "--host",
        "0.0.0.0",  # noqa: S104 - the case under test
        "--port",
        str(port),
        "--sandbox-port",
        str(sandbox_port),
    )
    app = f"http://localhost:{port}"
    try:
        wait_until_up(f"{app}/healthz", proc)
        assert install_through_the_browser(app).status_code == 200
    finally:
        output = stop(proc)
    assert f"http://localhost:{port}/" in output and "Traceback" not in output
