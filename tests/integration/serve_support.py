"""Run the real ``gorgias-appkit serve`` (or any server command) on a free port, logging to a file.

The output goes to a file rather than a pipe: a busy access log would fill a pipe nobody reads
and stall the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gorgias_appkit.store.crypto import generate_key

from ..conftest import free_port
from ..conftest import wait_until_up

EXE = str(Path(sys.executable).with_name("gorgias-appkit"))


def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production-mode environment on a fresh SQLite file, nothing inherited from GORGIAS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GORGIAS_", "SANDBOX_"))}
    env.pop("WEB_CONCURRENCY", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        GORGIAS_CLIENT_ID="client",
        GORGIAS_CLIENT_SECRET="secret-value",
        GORGIAS_APP_URL="https://app.example.com",
        GORGIAS_DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        GORGIAS_ENCRYPTION_KEYS=generate_key(),
        GORGIAS_SECRET_KEY="k" * 40,
    )
    env.update(extra)
    return env


@dataclass
class Running:
    """A server process, its base URL and the file its output goes to."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")


@contextmanager
def running(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int | None = None,
    stop: signal.Signals = signal.SIGTERM,
    ready: str = "/healthz",
) -> Iterator[Running]:
    """Start ``args`` (``{port}`` is replaced), wait for ``ready`` to answer, stop at the end."""
    port = port or free_port()
    log = cwd / f"server-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(  # noqa: S603 - our own console scripts
            [a.replace("{port}", str(port)) for a in args],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Running(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_up(f"{server.url}{ready}", proc, timeout=60)
        yield server
    finally:
        proc.send_signal(stop)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(
    tmp_path: Path, env: dict[str, str], *extra: str, port: int | None = None
) -> AbstractContextManager[Running]:
    """``gorgias-appkit serve`` with ``extra`` arguments."""
    return running([EXE, "serve", "--port", "{port}", *extra], env=env, cwd=tmp_path, port=port)
