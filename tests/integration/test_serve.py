"""`gorgias-appkit serve`: the reference app on gunicorn, configured from the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from gorgias_appkit.store.crypto import generate_key

from ..conftest import free_port
from ..conftest import wait_until_up


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGIAS_")}
    env.update(
        GORGIAS_CLIENT_ID="client",
        GORGIAS_CLIENT_SECRET="secret-value",
        GORGIAS_APP_URL="https://app.example.com",
        GORGIAS_DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        GORGIAS_ENCRYPTION_KEYS=generate_key(),
        GORGIAS_SECRET_KEY="k" * 40,
        **extra,
    )
    return env


EXE = str(Path(sys.executable).with_name("gorgias-appkit"))


def test_serve_runs_gunicorn_workers(tmp_path: Path) -> None:
    """Two gunicorn workers answer /healthz and the install page over real HTTP."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [EXE, "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        health = wait_until_up(f"http://127.0.0.1:{port}/healthz", proc)
        assert health.json() == {"status": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/oauth/install", timeout=5)
        assert page.status_code == 200 and 'name="address"' in page.text
        # https app URL: the session cookie would be __Host- prefixed and Secure
        assert page.headers["Referrer-Policy"] == "no-referrer"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode()
    assert "Booting worker" in output


def test_serve_refuses_to_start_without_keys(tmp_path: Path) -> None:
    """SEC-14: production mode without an encryption key refuses to start and says why."""
    env = _env(tmp_path)
    del env["GORGIAS_ENCRYPTION_KEYS"], env["GORGIAS_SECRET_KEY"]
    result = subprocess.run(  # noqa: S603 - our own console script
        [EXE, "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "GORGIAS_ENCRYPTION_KEYS is required" in result.stderr
    assert "secret-value" not in result.stderr + result.stdout
