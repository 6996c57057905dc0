"""``serve`` on gunicorn: the options, the metrics folder, the masking logger and the hooks.

``gorgias-appkit serve`` checks the configuration (and migrates) once, prepares a
``PROMETHEUS_MULTIPROC_DIR`` (:func:`prepare_metrics_dir`), then replaces itself with gunicorn
running the shipped ``gunicorn.conf.py`` (:data:`CONFIG_FILE`): a fresh interpreter, so
prometheus_client reads the folder before anything imports it. The config file uses the pieces
below: :class:`ScrubbedLogger` (access and error logs pass through the kit's secret scrubber),
:func:`worker_timeout`, and the ``child_exit``/``on_exit`` hooks.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from ..core.deadline import DEFAULT_REQUEST_DEADLINE
from ..core.secret import install_log_scrubber
from ..errors import ConfigError
from ..metrics import MULTIPROC_ENV

CONFIG_FILE = Path(__file__).with_name("gunicorn.conf.py")
APP = "gorgias_appkit.starter:create_app()"
WORKERS_ENV = "WEB_CONCURRENCY"  # gunicorn's own convention (Heroku, Render, …)
THREADS_ENV = "GORGIAS_THREADS"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
# Set when serve made the metrics folder itself, so the master removes it on exit.
OWNED_ENV = "GORGIAS_METRICS_DIR_OWNED"
_PROMETHEUS_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


def positive_int(env: Mapping[str, str], name: str, default: int, *, most: int) -> int:
    """Read a whole number from the environment; a :class:`ConfigError` when it is not one."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ConfigError([f"{name} must be a whole number from 1 to {most}, got {raw!r}"])
    return int(raw)


def request_deadline(env: Mapping[str, str]) -> float:
    """``GORGIAS_REQUEST_DEADLINE`` as the app will read it (already validated by ``serve``)."""
    try:
        return float(env.get("GORGIAS_REQUEST_DEADLINE") or DEFAULT_REQUEST_DEADLINE)
    except ValueError:
        return DEFAULT_REQUEST_DEADLINE


def worker_timeout(deadline: float) -> int:
    """gunicorn's worker timeout: comfortably above the request deadline, never below 30 s."""
    return max(30, math.ceil(3 * deadline))


def prepare_metrics_dir(env: Mapping[str, str]) -> dict[str, str]:
    """Make (or empty) the folder the workers' counters go to; return the variables to set.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is used as it is, emptied of the previous run's
    files (one folder per ``serve``: two servers sharing it would report each other's counts).
    Otherwise a private temporary folder is made, and removed when gunicorn exits.
    """
    configured = (env.get(MULTIPROC_ENV) or "").strip()
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for pattern in _PROMETHEUS_FILES:
            for stale in folder.glob(pattern):
                stale.unlink(missing_ok=True)
        return {MULTIPROC_ENV: str(folder)}
    folder = Path(tempfile.mkdtemp(prefix="gorgias-appkit-metrics-"))
    return {MULTIPROC_ENV: str(folder), OWNED_ENV: "1"}


def exec_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """Replace this process with gunicorn serving the reference app (never returns)."""
    env = dict(os.environ)
    env.update(prepare_metrics_dir(env))
    env.update({WORKERS_ENV: str(workers), THREADS_ENV: str(threads)})
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG_FILE), "--bind", f"{host}:{port}"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter, a fixed argv


class ScrubbedLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger whose access and error logs mask codes, states and tokens."""

    def setup(self, cfg: Any) -> None:
        """Set up gunicorn's handlers, then put the kit's scrubber on both logs."""
        super().setup(cfg)
        install_log_scrubber(self.access_log)
        install_log_scrubber(self.error_log)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: prometheus_client drops its live gauges (its counters stay summed)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """gunicorn is stopping: remove the metrics folder if ``serve`` made it."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder and os.environ.get(OWNED_ENV) == "1":
        shutil.rmtree(folder, ignore_errors=True)
