"""API client: a rate budget shared by processes and instances vs a reactive one; per-call cost.

Figures (issue 12, goals 1 and 4), each beside its baseline, measured in this one run:

- throughput: processes sending GETs for one account through ``kit.client_for`` against a
  sandbox enforcing Gorgias' leaky bucket scaled down in time (80 requests per 2 s instead of
  per 20 s): requests/second, the fraction of the most Gorgias accepts in that time (a full
  bucket, then the leak rate) and the 429s it answered. Baseline: the same batch through plain
  httpx clients that only honour ``Retry-after``. 4 processes on SQLite; then 16 processes in 2
  app instances sharing PostgreSQL and Redis (``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``);
- per-call overhead: ``client.get("/account")`` against a raw httpx GET + ``.json()`` of the
  same URL with a static bearer header, on a fast local keep-alive endpoint (a few hundred µs a
  call), on SQLite, PostgreSQL and PostgreSQL with the Redis budget. Beside it the kit with its
  token cache off (every call reads the row: the kit before issue 12), and the kit calling 1,000
  accounts in turn at Gorgias' own limit (80/20 s), where no account is called often enough to
  lease slots, so each call takes its slot with one store round trip. The sandbox figure is kept
  (a Flask app closing every connection, 2 ms a call, which hides most of the kit's cost).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import support

LIMIT, WINDOW = 80, 2.0
HUGE = {"GORGIAS_RATE_LIMIT": "1000000", "GORGIAS_RATE_WINDOW": "1"}
ROUNDS = 6000
ACCOUNTS = 1000


# -- throughput -----------------------------------------------------------------------------------
def _budgeted(env: dict[str, str], calls: int, go: Any, out: Any) -> None:
    kit = support.kit(env, migrate=False)
    client = kit.client_for("acme")
    out.put(("ready", 0))
    go.wait(60)
    for _ in range(calls):
        client.get("/tickets", {"limit": 1})
    out.put(("done", time.time()))
    kit.close()


def _reactive(base: str, token: str, calls: int, go: Any, out: Any) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(timeout=15) as http:
        out.put(("ready", 0))
        go.wait(60)
        done = 0
        while done < calls:
            answer = http.get(f"{base}/acme/api/tickets", params={"limit": 1}, headers=headers)
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("retry-after", "1")))
                continue
            answer.raise_for_status()
            done += 1
    out.put(("done", time.time()))


def _run(target: Any, args_per_process: list[tuple[Any, ...]]) -> float:
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, go, out)) for args in args_per_process]
    for proc in procs:
        proc.start()
    assert all(out.get(timeout=180)[0] == "ready" for _ in procs)
    started = time.time()
    go.set()
    finished = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(30)
    return max(at for _, at in finished) - started


def _line(name: str, total: int, seconds: float, rejected: int) -> str:
    rate = LIMIT / WINDOW
    most = LIMIT + rate * seconds
    return (
        f"   {name:<10} {total} GETs in {seconds:5.2f} s = {total / seconds:5.1f} req/s; "
        f"{total / most:.3f} of the most Gorgias accepts ({LIMIT} + {rate:g}/s x "
        f"{seconds:.2f} s); 429s: {rejected}"
    )


def _throughput(base: str, label: str, envs: list[dict[str, str]], calls: int) -> None:
    from gorgias_sandbox import SandboxControl

    control = SandboxControl(base)
    setup = support.kit(envs[0])
    support.install(setup, "acme")
    token = setup.access_token_for("acme")
    setup.close()
    print(f"   {label}: {len(envs)} processes x {calls} GETs, one account")
    rows = (
        ("kit", _budgeted, [(env, calls) for env in envs]),
        ("reactive", _reactive, [(base, token, calls) for _ in envs]),
    )
    for name, target, args in rows:
        time.sleep(WINDOW + 0.5)  # both buckets empty before each run
        before = control.count("acme", "api.429")
        seconds = _run(target, args)
        print(_line(name, len(envs) * calls, seconds, control.count("acme", "api.429") - before))
    control.close()


# -- per-call overhead ----------------------------------------------------------------------------
def _installed(env: dict[str, str], accounts: list[str]) -> Any:
    """A kit whose installations hold a static token (the fast endpoint checks none)."""
    from gorgias_appkit import Secret
    from gorgias_appkit import TokenSet

    kit = support.kit(env)
    expires = kit.clock.now() + timedelta(days=1)
    for account in accounts:
        kit.store.save_install(
            account,
            tokens=TokenSet(
                access_token=Secret("a" * 900),
                refresh_token=Secret("r" * 48),
                expires_at=expires,
                scopes=("offline",),
            ),
            user_id="1",
            user_email=None,
        )
    return kit


def _overhead(name: str, base: str, database_url: str, **extra: str) -> None:
    env = support.kit_env(base, database_url, **extra)
    accounts = [f"shop{n:04d}" for n in range(ACCOUNTS)]
    cached = _installed({**env, **HUGE}, ["acme", *accounts])
    uncached = support.kit({**env, **HUGE, "GORGIAS_TOKEN_CACHE_SECONDS": "0"}, migrate=False)
    gorgias = support.kit(env, migrate=False)  # Gorgias' own 80 per 20 s
    raw_http = httpx.Client(timeout=cached.http.timeout, follow_redirects=False)
    url = f"{base}/acme/api/account"
    headers = {"Authorization": f"Bearer {'a' * 900}", "Accept": "application/json"}
    client, before = cached.client_for("acme"), uncached.client_for("acme")
    clients = [gorgias.client_for(account) for account in accounts]
    turn = iter(range(10**9))

    def many() -> object:
        return clients[next(turn) % ACCOUNTS].get("/account")

    timings = support.interleaved(
        {
            "raw": lambda: raw_http.get(url, headers=headers).json(),
            "kit": lambda: client.get("/account"),
            "before": lambda: before.get("/account"),
            "many": many,
        },
        rounds=ROUNDS,
    )
    (raw, raw_median), (ours, ours_median) = timings["raw"], timings["kit"]
    print(
        f"   {name:<19} raw httpx {raw * 1e6:4.0f} µs | kit {ours * 1e6:4.0f} µs = "
        f"{ours / raw:.3f}x (goal <= 1.05x; medians {ours_median / raw_median:.3f}x) | "
        f"cache off {timings['before'][0] * 1e6:4.0f} µs = {timings['before'][0] / raw:.3f}x | "
        f"1,000 accounts at 80/20 s {timings['many'][0] * 1e6:4.0f} µs = "
        f"{timings['many'][0] / raw:.3f}x"
    )
    raw_http.close()
    for each in (cached, uncached, gorgias):
        each.close()


def _sandbox_overhead(base: str, database_url: str) -> None:
    from gorgias_sandbox import SandboxControl

    control = SandboxControl(base)
    control.configure(rate_limit_enabled=False, rate_limit=1_000_000, rate_window=1)
    kit = support.kit(support.kit_env(base, database_url, **HUGE), migrate=False)
    client = kit.client_for("acme")
    raw_http = httpx.Client(timeout=kit.http.timeout, follow_redirects=False)
    url = f"{base}/acme/api/account"
    headers = {"Authorization": f"Bearer {kit.access_token_for('acme')}"}
    timings = support.interleaved(
        {
            "raw": lambda: raw_http.get(url, headers=headers).json(),
            "kit": lambda: client.get("/account"),
        },
        rounds=800,
    )
    raw, ours = timings["raw"][0], timings["kit"][0]
    print(
        f"   {'sandbox (SQLite)':<19} raw httpx {raw * 1e6:4.0f} µs | kit {ours * 1e6:4.0f} µs "
        f"= {ours / raw:.3f}x (a Flask app, a new connection per call)"
    )
    raw_http.close()
    kit.close()
    control.configure(rate_limit_enabled=True, rate_limit=LIMIT, rate_window=WINDOW)
    control.close()


def run() -> None:
    """Print the throughput and the per-call overhead figures."""
    pg, redis = support.postgres_base(), support.redis_url()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{Path(folder) / 'api.sqlite3'}"
        scaled = {"GORGIAS_RATE_LIMIT": str(LIMIT), "GORGIAS_RATE_WINDOW": str(WINDOW)}
        with support.served("sandbox", rate_limit=LIMIT, rate_window=WINDOW) as base:
            print(f"   sandbox: {LIMIT} requests per {WINDOW:g} s per account (Gorgias: per 20 s)")
            _throughput(base, "SQLite", [support.kit_env(base, sqlite, **scaled)] * 4, 100)
            if pg and redis:
                with support.scratch_schema(pg) as shared:
                    instances = [
                        support.kit_env(base, shared, GORGIAS_REDIS_URL=redis, **scaled),
                        support.kit_env(base, shared, GORGIAS_REDIS_URL=redis, **scaled),
                    ]
                    label = "2 instances x 8 processes, PostgreSQL + Redis"
                    _throughput(base, label, [instances[n // 8] for n in range(16)], 25)
            else:
                print("   (16 processes: set BENCH_DATABASE_URL and BENCH_REDIS_URL)")
            _sandbox_overhead(base, sqlite)
        print(
            f"   per call, fast keep-alive endpoint; means of {ROUNDS:,} calls each, "
            f"interleaved call by call:"
        )
        with support.served("fast") as fast:
            _overhead("SQLite", fast, f"sqlite:///{Path(folder) / 'overhead.sqlite3'}")
            if pg:
                with support.scratch_schema(pg) as url:
                    _overhead("PostgreSQL", fast, url)
                if redis:
                    with support.scratch_schema(pg) as url:
                        _overhead("PostgreSQL + Redis", fast, url, GORGIAS_REDIS_URL=redis)
