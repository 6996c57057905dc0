"""What the benchmarks share: settings, a sandbox in its own process, scratch databases, timing.

Every figure is measured side by side in one run: :func:`interleaved` times the compared calls in
alternating blocks (A B C, C B A, ...) so background load on the machine hits each side alike.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import text

from gorgias_appkit.store.crypto import generate_key

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's fake client
APP_URL = "http://127.0.0.1:8000"
KEY = generate_key()


def kit_env(base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """``GORGIAS_*`` settings for a kit on ``database_url`` calling accounts at ``base_url``."""
    return {
        "GORGIAS_CLIENT_ID": CLIENT_ID,
        "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
        "GORGIAS_APP_URL": APP_URL,
        "GORGIAS_URL_TEMPLATE": f"{base_url}/{{account}}",
        "GORGIAS_DATABASE_URL": database_url,
        "GORGIAS_ENCRYPTION_KEYS": KEY,
        "GORGIAS_SECRET_KEY": "b" * 40,
        **extra,
    }


def kit(env: dict[str, str], **kwargs: Any) -> Any:
    """A :class:`Kit` from ``env`` (imported late: spawned children import this module)."""
    from gorgias_appkit import Kit
    from gorgias_appkit import KitSettings

    return Kit(KitSettings.from_mapping(env), **kwargs)


# -- the sandbox, in a process of its own ---------------------------------------------------------
def _serve_sandbox(conn: Connection, switches: dict[str, Any]) -> None:
    from gorgias_sandbox import SandboxConfig
    from gorgias_sandbox import SandboxServer

    config = SandboxConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(f"{APP_URL}/oauth/callback",),
        **{"auto_approve": True, **switches},
    )
    with SandboxServer(config) as server:
        conn.send(server.url)
        conn.recv()


def _serve_fast(conn: Connection) -> None:
    from bench.fast_endpoint import serve

    serve(conn)


@contextmanager
def served(target: str = "sandbox", **switches: Any) -> Iterator[str]:
    """Run the sandbox (or the fast endpoint) in a spawned process; yield its base URL."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    run = _serve_sandbox if target == "sandbox" else _serve_fast
    args = (child, switches) if target == "sandbox" else (child,)
    process = ctx.Process(target=run, args=args, daemon=True)
    process.start()
    try:
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


# -- databases ------------------------------------------------------------------------------------
def postgres_base() -> str | None:
    """``BENCH_DATABASE_URL``: a PostgreSQL server the bench may create scratch schemas in."""
    return os.environ.get("BENCH_DATABASE_URL") or None


def redis_url() -> str | None:
    """``BENCH_REDIS_URL``: a Redis database the bench may use for rate buckets."""
    return os.environ.get("BENCH_REDIS_URL") or None


@contextmanager
def scratch_schema(base: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one figure, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def databases(folder: Path) -> Iterator[tuple[str, str]]:
    """SQLite always; PostgreSQL too when ``BENCH_DATABASE_URL`` is set."""
    yield "SQLite", f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}"
    base = postgres_base()
    if base:
        with scratch_schema(base) as url:
            yield "PostgreSQL", url


# -- installs -------------------------------------------------------------------------------------
def install(app_kit: Any, account: str) -> None:
    """Install ``account`` through the kit and the sandbox's automatic consent."""
    authorize = app_kit.begin_install(account, browser_id="bench")
    answer = httpx.get(authorize, follow_redirects=False, timeout=30)
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    app_kit.complete_install(query, browser_id="bench")


def fill(app_kit: Any, size: int, *, prefix: str = "filler", due: int = 0) -> None:
    """Bulk-insert ``size`` installation rows (sealed-token sized); the first ``due`` are due."""
    from gorgias_appkit.store.schema import installations

    now = app_kit.clock.now()
    sealed = "x" * 1300  # about the size of a sealed JWT access token
    rows = [
        {
            "account": f"{prefix}-{i:06d}",
            "status": "active",
            "access_token": sealed,
            "refresh_token": sealed[:120],
            "token_type": "Bearer",
            "expires_at": now + timedelta(seconds=600 + i if i < due else 7200 + i % 80000),
            "scopes": "offline",
            "installed_at": now,
            "updated_at": now,
            "refresh_failures": 0,
            "version": 1,
        }
        for i in range(size)
    ]
    with app_kit.engine.begin() as conn:
        for chunk in range(0, len(rows), 10_000):
            conn.execute(insert(installations), rows[chunk : chunk + 10_000])
        if app_kit.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE gorgias_installations"))


# -- timing ---------------------------------------------------------------------------------------
def interleaved(
    calls: dict[str, Callable[[], object]], *, rounds: int, warm: int = 200
) -> dict[str, tuple[float, float]]:
    """Seconds per call of each entry, as ``(mean, median)`` over ``rounds`` rounds.

    Each round makes one call of each entry, the order reversing every round, so load on the
    machine hits every entry alike, call by call. The mean includes the work a call does only
    now and then (a new batch of rate-budget slots, a cache refresh); the median shows the
    common call.
    """
    for call in calls.values():
        for _ in range(warm):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    clock = time.perf_counter
    for n in range(rounds):
        for name in names if n % 2 == 0 else names[::-1]:
            call, started = calls[name], clock()
            call()
            samples[name].append(clock() - started)
    return {
        name: (statistics.fmean(values), statistics.median(values))
        for name, values in samples.items()
    }
