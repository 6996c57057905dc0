"""API client: 4 processes sharing one account's rate budget vs a reactive client; per-call cost.

One run against a sandbox (in its own process) enforcing Gorgias' leaky bucket scaled down in
time: 80 requests per 2 s instead of per 20 s. Figures:

- budgeted: 4 processes, each with its own Kit on one SQLite database, send a fixed batch of
  GETs for one account through ``kit.client_for``; we report requests/second, the fraction of
  the most Gorgias could have accepted in that time (a full bucket, then the leak rate:
  ``capacity + rate * seconds``) and the 429s the sandbox answered;
- reactive: the same batch through plain httpx clients that only honour ``Retry-after``;
- overhead: ``client.get("/account")`` against a raw ``httpx`` GET + ``.json()`` of the same
  local endpoint, with the sandbox's rate limiting switched off and a budget too large to ever
  wait, so what is measured is the bookkeeping (token, budget, metrics, errors). Medians of
  interleaved blocks, so both sides see the same machine noise.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"  # the sandbox's fake app
APP_URL = "http://127.0.0.1:8000"
LIMIT, WINDOW = 80, 2.0
PROCESSES, CALLS_EACH = 4, 100
BLOCKS, BLOCK_CALLS = 16, 80


def _serve(conn: Connection) -> None:
    from gorgias_sandbox import SandboxConfig
    from gorgias_sandbox import SandboxServer

    config = SandboxConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(f"{APP_URL}/oauth/callback",),
        auto_approve=True,
        rate_limit=LIMIT,
        rate_window=WINDOW,
    )
    with SandboxServer(config) as server:
        conn.send(server.url)
        conn.recv()


def _env(url: str, database: str, **extra: str) -> dict[str, str]:
    from gorgias_appkit.store.crypto import generate_key

    return {
        "GORGIAS_CLIENT_ID": CLIENT_ID,
        "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
        "GORGIAS_APP_URL": APP_URL,
        "GORGIAS_URL_TEMPLATE": f"{url}/{{account}}",
        "GORGIAS_DATABASE_URL": database,
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "b" * 40,
        "GORGIAS_RATE_LIMIT": str(LIMIT),
        "GORGIAS_RATE_WINDOW": str(WINDOW),
        **extra,
    }


def _kit(env: dict[str, str], **kwargs: Any) -> Any:
    from gorgias_appkit import Kit
    from gorgias_appkit import KitSettings

    return Kit(KitSettings.from_mapping(env), **kwargs)


def _install(kit: Any) -> None:
    with httpx.Client(follow_redirects=False) as http:
        answer = http.get(kit.begin_install("acme", browser_id="bench"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    kit.complete_install(query, browser_id="bench")


def _budgeted(env: dict[str, str], calls: int, go: Any, out: Any) -> None:
    kit = _kit(env, migrate=False)
    client = kit.client_for("acme")
    out.put(("ready", 0.0))
    go.wait(60)
    for _ in range(calls):
        client.get("/tickets", {"limit": 1})
    out.put(("done", time.time()))
    kit.close()


def _reactive(base: str, token: str, calls: int, go: Any, out: Any) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(timeout=15) as http:
        out.put(("ready", 0.0))
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


def _run(ctx: Any, target: Any, args: tuple[Any, ...]) -> float:
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, go, out)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    assert all(out.get(timeout=120)[0] == "ready" for _ in procs)
    started = time.time()
    go.set()
    finished = [out.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert all(kind == "done" for kind, _ in finished), finished
    return max(at for _, at in finished) - started


def _report(name: str, seconds: float, rejected: int) -> None:
    total = PROCESSES * CALLS_EACH
    rate = LIMIT / WINDOW
    most = LIMIT + rate * seconds
    print(
        f"   {name:<9} {total} GETs in {seconds:5.2f} s = {total / seconds:5.1f} req/s; "
        f"{total / most:.3f} of the most Gorgias accepts in that time "
        f"({LIMIT} + {rate:g}/s x {seconds:.2f} s); 429s: {rejected}"
    )


def _overhead(control: Any, env: dict[str, str]) -> None:
    control.configure(rate_limit_enabled=False, rate_limit=1_000_000, rate_window=1)
    kit = _kit({**env, "GORGIAS_RATE_LIMIT": "1000000", "GORGIAS_RATE_WINDOW": "1"})
    client = kit.client_for("acme")
    url = f"{client.base_url}/account"
    headers = {
        "Authorization": f"Bearer {kit.access_token_for('acme')}",
        "Accept": "application/json",
    }
    raw_http = httpx.Client(timeout=kit.http.timeout, follow_redirects=False)

    def raw() -> None:
        raw_http.get(url, headers=headers).json()

    def ours() -> None:
        client.get("/account")

    for _ in range(50):  # warm both connections and caches
        raw()
        ours()
    reuse = raw_http.get(url, headers=headers).headers.get("connection", "keep-alive")
    means: dict[str, list[float]] = {"raw": [], "client": []}
    for block in range(BLOCKS):
        order = [("raw", raw), ("client", ours)]
        for name, call in order if block % 2 else order[::-1]:
            started = time.perf_counter()
            for _ in range(BLOCK_CALLS):
                call()
            means[name].append((time.perf_counter() - started) / BLOCK_CALLS)
    raw_s, ours_s = statistics.median(means["raw"]), statistics.median(means["client"])
    print(
        f"   overhead  raw httpx GET+json {raw_s * 1e6:5.0f} us, kit client "
        f"{ours_s * 1e6:5.0f} us per call (+{(ours_s - raw_s) * 1e6:.0f} us): "
        f"{ours_s / raw_s:.3f}x (goal <= 1.10x)"
    )
    print(
        f"             medians of {BLOCKS} interleaved blocks of {BLOCK_CALLS} calls; SQLite "
        f"budget; sandbox rate limiting off; sandbox sends 'Connection: {reuse}'"
    )
    raw_http.close()
    kit.close()


def run() -> None:
    """Print the budgeted and reactive throughput and the per-call overhead."""
    from gorgias_sandbox import SandboxControl

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    base = parent.recv()
    control = SandboxControl(base)
    with tempfile.TemporaryDirectory() as folder:
        env = _env(base, f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        kit = _kit(env)
        _install(kit)
        token = kit.access_token_for("acme")
        kit.close()
        print(
            f"   sandbox: {LIMIT} requests per {WINDOW:g} s per account (Gorgias: per 20 s); "
            f"{PROCESSES} processes x {CALLS_EACH} GETs"
        )
        for name, target, args in (
            ("budgeted", _budgeted, (env, CALLS_EACH)),
            ("reactive", _reactive, (base, token, CALLS_EACH)),
        ):
            time.sleep(WINDOW + 0.5)  # both buckets empty before each run
            before = control.count("acme", "api.429")
            seconds = _run(ctx, target, args)
            _report(name, seconds, control.count("acme", "api.429") - before)
        _overhead(control, env)
    control.close()
    parent.send("stop")
    server.join(10)
