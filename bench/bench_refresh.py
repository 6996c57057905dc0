"""Refresh storms (the kit vs a naive "refresh when expired") and cached-token latency at scale.

Everything runs against a sandbox started in this process on an ephemeral port, with refresh-token
rotation and reuse detection on (the strictest server: a second use of a rotated refresh token
revokes the whole grant). Figures:

1. Refresh storm: N callers (4 spawned processes, N/4 threads each, every process its own ``Kit``
   on one database) ask for the token of an installation whose access token has expired, with a
   200 ms token endpoint. Token requests made, callers that got an error, and whether the grant
   survived, for the kit's ``access_token_for`` and for the naive baseline written below.
2. ``access_token_for`` latency for a token that is not due, with 1,000 and with 100,000 stored
   installations (rows bulk-inserted with SQLAlchemy): served from the process's token cache,
   beside the database read it replaces (the same kit with ``GORGIAS_TOKEN_CACHE_SECONDS=0``):
   median and p95 in µs, the speed-up (issue 12 goal 2: at least 20x) and the 100k / 1k ratios.

SQLite always; also PostgreSQL when ``BENCH_DATABASE_URL`` is set (a scratch schema is used).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert

from bench import support
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.core.records import InstallUpdate
from gorgias_appkit.core.records import TokenSet
from gorgias_appkit.core.secret import Secret
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.store.schema import installations
from gorgias_sandbox import SandboxConfig
from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's fake client
APP_URL = "http://127.0.0.1:8000"
PROCESSES = 4
STORM_SIZES = (8, 32)
LATENCY_SIZES = (1_000, 100_000)
CALLS = 10_000


def run() -> None:
    """Print every figure; called by ``python -m bench``."""
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    config = SandboxConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(f"{APP_URL}/oauth/callback",),
        auto_approve=True,
        rotate_refresh_tokens=True,
        reuse_detection=True,
        rate_limit_enabled=False,
    )
    context = multiprocessing.get_context("spawn")
    with (
        SandboxServer(config) as sandbox,
        tempfile.TemporaryDirectory() as folder,
        context.Manager() as manager,
        context.Pool(PROCESSES, _quiet) as pool,
    ):
        control = sandbox.control
        for name, url in support.databases(Path(folder)):
            env = _env(sandbox.url, url)
            Kit(KitSettings.from_mapping(env)).close()  # migrate once
            print(
                f"\n  [{name}] refresh storm: expired token, rotation + reuse detection, "
                f"{PROCESSES} processes, 200 ms token endpoint"
            )
            print(
                f"  {'callers':>8}  {'':8}{'token requests':>15}{'callers failed':>16}"
                f"{'distinct tokens':>17}  grant"
            )
            for size in STORM_SIZES:
                for mode in ("kit", "naive"):
                    row = _storm(control, pool, manager, env, mode=mode, callers=size)
                    print(
                        f"  {size:>8}  {mode:8}{row['requests']:>15}{row['errors']:>16}"
                        f"{row['tokens']:>17}  {row['grant']}"
                    )
            _latency(name, env, Path(folder))


def _env(sandbox_url: str, database_url: str) -> dict[str, str]:
    return {
        "GORGIAS_CLIENT_ID": CLIENT_ID,
        "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
        "GORGIAS_APP_URL": APP_URL,
        "GORGIAS_URL_TEMPLATE": f"{sandbox_url}/{{account}}",
        "GORGIAS_DATABASE_URL": database_url,
        "GORGIAS_ENCRYPTION_KEYS": _KEY,
        "GORGIAS_SECRET_KEY": "b" * 40,
    }


_KEY = generate_key()


# -- the storm -----------------------------------------------------------------------------------
def _storm(
    control: SandboxControl,
    pool: Any,
    manager: Any,
    env: dict[str, str],
    *,
    mode: str,
    callers: int,
) -> dict[str, Any]:
    account = f"storm-{mode}-{callers}-{uuid.uuid4().hex[:6]}"
    control.create_account(account)
    kit = Kit(KitSettings.from_mapping(env), migrate=False)
    try:
        control.configure(access_token_ttl=1)
        _install(kit, account)
        control.configure(access_token_ttl=86400)
        control.add_fault(
            path="/oauth/token",
            account=account,
            grant_type="refresh_token",
            mode="delay",
            delay_ms=200,
            count=-1,
        )
        while (kit.installation(account).expires_at or datetime.now(UTC)) > kit.clock.now():
            time.sleep(0.05)
        start = manager.Barrier(PROCESSES)
        jobs = [
            pool.apply_async(_storm_process, (env, account, callers // PROCESSES, mode, start))
            for _ in range(PROCESSES)
        ]
        outcomes = [item for job in jobs for item in job.get(timeout=120)]
    finally:
        kit.close()
        control.clear_faults()
    grant = control.grants(account)[-1]
    return {
        "requests": control.count(account, "oauth.token.refresh_token"),
        "errors": sum(1 for kind, _ in outcomes if kind == "error"),
        "tokens": len({value for kind, value in outcomes if kind == "ok"}),
        "grant": "alive" if grant["status"] == "active" else f"killed ({grant['revoked_reason']})",
    }


def _install(kit: Kit, account: str) -> None:
    authorize = kit.begin_install(account, browser_id="bench")
    answer = httpx.get(authorize, follow_redirects=False, timeout=10)
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    kit.complete_install(query, browser_id="bench")


def _quiet() -> None:
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)


def _storm_process(
    env: dict[str, str], account: str, threads: int, mode: str, start: Any
) -> list[tuple[str, str]]:
    """One app instance in a spawned process: ``threads`` callers released together."""
    kit = Kit(KitSettings.from_mapping(env), migrate=False)
    get = kit.access_token_for if mode == "kit" else (lambda a: naive_access_token(kit, a))
    gate = threading.Barrier(threads)
    got: list[tuple[str, str]] = []

    def call() -> None:
        gate.wait()
        try:
            got.append(("ok", get(account)))
        except Exception as exc:  # counted: that is the figure
            got.append(("error", type(exc).__name__))

    workers = [threading.Thread(target=call) for _ in range(threads)]
    start.wait(timeout=60)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    kit.close()
    return got


def naive_access_token(kit: Kit, account: str) -> str:
    """The baseline many integrations ship: read, refresh when expired, save. No lock held."""
    installation = kit.installation(account)
    assert installation is not None and installation.tokens is not None
    tokens = installation.tokens
    if tokens.expires_at > kit.clock.now() or tokens.refresh_token is None:
        return tokens.access_token.reveal()
    result = kit.oauth.refresh(account, refresh_token=tokens.refresh_token)
    with kit.store.locked(account) as row:  # only the save is atomic, as with an ORM save()
        row.apply(InstallUpdate(tokens=result.tokens))
    return result.tokens.access_token.reveal()


# -- latency -------------------------------------------------------------------------------------
def _latency(name: str, env: dict[str, str], folder: Path) -> None:
    print(
        f"\n  [{name}] access_token_for, token not due ({CALLS:,} calls per kind and size, "
        f"interleaved in batches so background load hits all alike):"
    )
    with ExitStack() as stack:
        kits: dict[tuple[int, str], Kit] = {}
        for size in LATENCY_SIZES:
            if name == "SQLite":
                url = f"sqlite:///{folder / f'latency-{size}-{uuid.uuid4().hex[:6]}.sqlite3'}"
            else:
                url = stack.enter_context(support.scratch_schema(os.environ["BENCH_DATABASE_URL"]))
            cached = Kit(KitSettings.from_mapping({**env, "GORGIAS_DATABASE_URL": url}))
            stack.callback(cached.close)
            _fill(cached, size)
            uncached = Kit(
                KitSettings.from_mapping(
                    {**env, "GORGIAS_DATABASE_URL": url, "GORGIAS_TOKEN_CACHE_SECONDS": "0"}
                ),
                migrate=False,
            )
            stack.callback(uncached.close)
            kits[(size, "cached")], kits[(size, "database")] = cached, uncached
        samples = _interleaved(list(kits.values()))
    medians: dict[tuple[int, str], float] = {}
    for key, timings in zip(kits, samples, strict=True):
        timings.sort()
        medians[key] = statistics.median(timings)
        key_p95 = timings[int(len(timings) * 0.95)]
        medians[(key[0], key[1] + "_p95")] = key_p95
    for size in LATENCY_SIZES:
        cached, read = medians[(size, "cached")], medians[(size, "database")]
        print(
            f"  {size:>9,} installations: cached median {cached:6.1f} µs "
            f"(p95 {medians[(size, 'cached_p95')]:6.1f}) | database read median {read:6.0f} µs "
            f"(p95 {medians[(size, 'database_p95')]:6.0f}) | {read / cached:5.0f}x faster "
            f"(goal >= 20x)"
        )
    small, large = LATENCY_SIZES[0], LATENCY_SIZES[-1]
    print(
        f"  ratio {large:,} / {small:,}: cached "
        f"{medians[(large, 'cached')] / medians[(small, 'cached')]:.2f}, database read "
        f"{medians[(large, 'database')] / medians[(small, 'database')]:.2f}"
    )


def _interleaved(kits: list[Kit], batch: int = 250) -> list[list[float]]:
    for kit in kits:
        for _ in range(300):  # warm the pool and the caches
            kit.access_token_for("target")
    samples: list[list[float]] = [[] for _ in kits]
    clock = time.perf_counter_ns
    for _ in range(CALLS // batch):
        for kit, timings in zip(kits, samples, strict=True):
            for _ in range(batch):
                started = clock()
                kit.access_token_for("target")
                timings.append((clock() - started) / 1000)
    return samples


def _fill(kit: Kit, size: int) -> None:
    now = kit.clock.now()
    kit.store.save_install(
        "target",
        tokens=TokenSet(
            access_token=Secret("a" * 900),
            refresh_token=Secret("r" * 48),
            expires_at=now + timedelta(days=1),
            scopes=("offline",),
        ),
        user_id="1",
        user_email=None,
    )
    filler = "x" * 1300  # about the size of a sealed JWT access token
    rows = [
        {
            "account": f"filler-{i:06d}",
            "status": "active",
            "access_token": filler,
            "refresh_token": filler[:120],
            "token_type": "Bearer",
            "expires_at": now + timedelta(seconds=i % 86400),
            "scopes": "offline",
            "installed_at": now,
            "updated_at": now,
            "refresh_failures": 0,
            "version": 1,
        }
        for i in range(size - 1)
    ]
    with kit.engine.begin() as conn:
        for chunk in range(0, len(rows), 10_000):
            conn.execute(insert(installations), rows[chunk : chunk + 10_000])
