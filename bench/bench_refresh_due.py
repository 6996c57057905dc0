"""refresh-due at scale: concurrency, two runners at once, and the due query at 100,000 installs.

Issue 12, goal 3, against a sandbox (in its own process) rotating refresh tokens with reuse
detection and answering each refresh after 100 ms (a ``delay`` fault). 1,000 installations made
through real installs are made due again before each phase; ``gorgias-appkit refresh-due`` runs
as cron runs it (a new process, ``--json``):

1. sequentially (``--concurrency 1``: the baseline, refresh-due before issue 12) and with
   ``--concurrency 32`` (goal: at least 10x faster), in the same run;
2. two runners at once (``--concurrency 16`` each): token requests made, failures, grants lost
   (a grant revoked, or a stored refresh token that is not the grant's current one);
3. the due count and the claims (1,000 due rows taken in batches of 32) in a database holding
   1,000 installations and in one holding 100,000: the ratio of the two (goal: flat).

SQLite always; PostgreSQL too when ``BENCH_DATABASE_URL`` is set.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench import support

DUE = 1000
DELAY_MS = 100
CONCURRENCY = 32
FLAT_SIZES = (1_000, 100_000)
BATCH = 32
NO_DISCOVERY = {"GORGIAS_ID_TOKEN_JWKS": "off"}  # installs here are setup, not the figure


def run() -> None:
    """Print every figure; called by ``python -m bench``."""
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    switches = {"rotate_refresh_tokens": True, "reuse_detection": True, "rate_limit_enabled": False}
    with (
        tempfile.TemporaryDirectory() as folder,
        support.served("sandbox", **switches) as base,
    ):
        from gorgias_sandbox import SandboxControl

        control = SandboxControl(base, http=None)
        for name, url in support.databases(Path(folder)):
            _phases(control, name, {**support.kit_env(base, url), **NO_DISCOVERY})
            _flatness(name, base, Path(folder))
        control.close()


# -- 1 and 2: refresh-due against the sandbox ---------------------------------------------------
def _phases(control: Any, name: str, env: dict[str, str]) -> None:
    kit = support.kit(env)
    prefix = f"{name[:2].lower()}due"
    accounts = [f"{prefix}{n:04d}" for n in range(DUE)]
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda a: (control.create_account(a), support.install(kit, a)), accounts))
    print(
        f"\n  [{name}] {DUE:,} installs made in {time.perf_counter() - started:.1f} s; "
        f"refresh endpoint answers in {DELAY_MS} ms, rotation + reuse detection on"
    )
    control.add_fault(
        path="/oauth/token",
        grant_type="refresh_token",
        mode="delay",
        delay_ms=DELAY_MS,
        count=-1,
    )
    timings: dict[int, float] = {}
    for concurrency in (1, CONCURRENCY):
        _make_due(kit, prefix)
        before = _refreshes(control, prefix)
        seconds, reports = _cli(env, [concurrency])
        timings[concurrency] = seconds
        summary = reports[0]["summary"]
        print(
            f"  --concurrency {concurrency:>2}: {seconds:6.1f} s, {summary['refreshed']} "
            f"refreshed, {summary['failed']} failed, "
            f"{_refreshes(control, prefix) - before} token requests"
        )
    print(
        f"  speed-up with {CONCURRENCY} threads: {timings[1] / timings[CONCURRENCY]:.1f}x "
        f"(goal >= 10x)"
    )
    _make_due(kit, prefix)
    before = _refreshes(control, prefix)
    seconds, reports = _cli(env, [CONCURRENCY // 2, CONCURRENCY // 2])
    handled = [r["account"] for report in reports for r in report["results"]]
    print(
        f"  two runners at once (--concurrency {CONCURRENCY // 2} each): {seconds:.1f} s, "
        f"{_refreshes(control, prefix) - before} token requests for {DUE:,} due installs, "
        f"{sum(report['summary']['failed'] for report in reports)} failed, "
        f"{len(handled) - len(set(handled))} handled twice, "
        f"split {' + '.join(str(len(report['results'])) for report in reports)}, "
        f"{_grants_lost(control, kit, accounts)} grants lost"
    )
    control.clear_faults()
    kit.close()


def _make_due(kit: Any, prefix: str) -> None:
    """Every bench installation expires in 30 minutes again; no claim left from a phase."""
    from gorgias_appkit.store.schema import installations

    T = installations.c
    with kit.engine.begin() as conn:
        conn.execute(
            update(installations)
            .where(T.account.like(f"{prefix}%"))
            .values(
                expires_at=kit.clock.now() + timedelta(minutes=30),
                claimed_by=None,
                claimed_until=None,
            )
        )


def _refreshes(control: Any, prefix: str) -> int:
    counters = control.stats()["counters"]
    return sum(
        values.get("oauth.token.refresh_token", 0)
        for account, values in counters.items()
        if account.startswith(prefix)
    )


def _cli(env: dict[str, str], runners: list[int]) -> tuple[float, list[dict[str, Any]]]:
    """Start one ``refresh-due`` process per entry (its concurrency) at once; wait for all.

    Their output goes to files, as cron's does: a pipe nobody reads while waiting for another
    process would fill up and stall the process writing to it.
    """
    command = Path(sys.executable).with_name("gorgias-appkit")
    with tempfile.TemporaryDirectory() as folder:
        outputs = [
            (Path(folder) / f"{n}.out", Path(folder) / f"{n}.err") for n in range(len(runners))
        ]
        started = time.perf_counter()
        procs = []
        for concurrency, (out, err) in zip(runners, outputs, strict=True):
            with out.open("w") as stdout, err.open("w") as stderr:
                procs.append(
                    subprocess.Popen(  # noqa: S603 - our own console script
                        [
                            str(command),
                            "refresh-due",
                            "--within",
                            "3600",
                            "--concurrency",
                            str(concurrency),
                            "--json",
                        ],
                        env={**os.environ, **env},
                        stdout=stdout,
                        stderr=stderr,
                    )
                )
        for proc in procs:
            proc.wait(timeout=1800)
        seconds = time.perf_counter() - started
        reports = []
        for proc, (out, err) in zip(procs, outputs, strict=True):
            text = out.read_text()
            if proc.returncode not in (0, 1) or not text.strip():
                raise RuntimeError(
                    f"refresh-due failed ({proc.returncode}): {err.read_text()[-3000:]}"
                )
            reports.append(json.loads(text))
    return seconds, reports


def _grants_lost(control: Any, kit: Any, accounts: list[str]) -> int:
    grants: dict[str, dict[str, Any]] = {}
    for grant in control.grants():
        grants[grant["account"]] = grant  # the newest grant of each account wins
    lost = 0
    for account in accounts:
        grant = grants[account]
        installation = kit.installation(account)
        stored = installation.tokens.refresh_token.reveal() if installation.tokens else None
        if grant["status"] != "active" or stored != grant["current_refresh_token"]:
            lost += 1
    return lost


# -- 3: the due query and the claims at 1,000 and 100,000 installations -------------------------
def _flatness(name: str, base: str, folder: Path) -> None:
    print(
        f"  [{name}] due count and claims ({DUE:,} due rows taken in batches of {BATCH}), "
        f"medians of 5 rounds:"
    )
    results: dict[int, tuple[float, float]] = {}
    for size in FLAT_SIZES:
        if name == "SQLite":
            db = f"sqlite:///{folder / f'flat-{size}.sqlite3'}"
            results[size] = _time_claims(support.kit_env(base, db), size)
        else:
            with support.scratch_schema(str(support.postgres_base())) as db:
                results[size] = _time_claims(support.kit_env(base, db), size)
    for size, (count, claim) in results.items():
        print(
            f"  {size:>9,} installations: due count {count * 1e3:6.2f} ms, "
            f"one claim of {BATCH} {claim * 1e3:6.2f} ms"
        )
    (c1, k1), (c2, k2) = results[FLAT_SIZES[0]], results[FLAT_SIZES[-1]]
    print(
        f"  ratio {FLAT_SIZES[-1]:,} / {FLAT_SIZES[0]:,}: due count {c2 / c1:.2f}, "
        f"claim {k2 / k1:.2f}"
    )


def _time_claims(env: dict[str, str], size: int) -> tuple[float, float]:
    from gorgias_appkit.store.schema import installations

    kit = support.kit(env)
    support.fill(kit, size, due=DUE)
    before = kit.clock.now() + timedelta(hours=1)
    counts, claims = [], []
    for round_ in range(5):
        started = time.perf_counter()
        assert kit.claims.count_due(before) == DUE
        counts.append(time.perf_counter() - started)
        taken = 0
        while True:
            started = time.perf_counter()
            batch = kit.claims.claim_due(before, runner=f"r{round_}", limit=BATCH, hold=60)
            claims.append(time.perf_counter() - started)
            if not batch:
                break
            taken += len(batch)
        assert taken == DUE, taken
        with kit.engine.begin() as conn:
            conn.execute(update(installations).values(claimed_by=None, claimed_until=None))
    kit.close()
    return statistics.median(counts), statistics.median(claims)
