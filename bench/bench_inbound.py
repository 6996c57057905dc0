"""Inbound events: event-to-handler latency and events per second with two worker processes.

A Gorgias-like sender POSTs events over real HTTP (with the installation's key) to the app's
event endpoint (a web process); two ``gorgias-appkit worker`` processes (4 threads each) run
the handler, which fails the first attempt of every tenth event (retried with backoff).

1. Latency: 300 events at a steady 20 per second (well below capacity): event-to-handler
   latency, from the moment the event was recorded to the handler's start (median and p95,
   first attempts only).
2. Throughput: a burst of 10,000 distinct events from 8 threads, every tenth sent again as
   Gorgias does after a timeout (11,000 deliveries): deliveries per second the web side
   accepts, events per second handled end to end, and the check that matters: events lost and
   events whose handler succeeded more than once (both must be 0).

SQLite (the default: database and queue files, no service); also PostgreSQL (queue included)
when ``BENCH_DATABASE_URL`` is set.
"""

from __future__ import annotations

import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import support
from gorgias_appkit import Account
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.store.crypto import generate_key

EVENTS = 10_000
STEADY, STEADY_RATE = 300, 20
RETRY_EVERY = 10
SENDERS = 8
WORKERS = 2
REPO = Path(__file__).parents[1]
EXE = str(Path(sys.executable).with_name("gorgias-appkit"))


def run() -> None:
    """Print every figure; called by ``python -m bench``."""
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        _scenario("SQLite", f"sqlite:///{Path(folder) / 'app.sqlite3'}", Path(folder))
    base = support.postgres_base()
    if base:
        with tempfile.TemporaryDirectory() as folder, support.scratch_schema(base) as url:
            _scenario("PostgreSQL", url, Path(folder))


def _env(database_url: str, folder: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GORGIAS_")},
        "GORGIAS_CLIENT_ID": "bench",
        "GORGIAS_CLIENT_SECRET": "bench-secret",
        "GORGIAS_APP_URL": f"http://127.0.0.1:{port}",
        "GORGIAS_DATABASE_URL": database_url,
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "b" * 40,
        "GORGIAS_INTEGRATIONS": "bench.inbound_app:integrations",
        "GORGIAS_EVENT_RETRY_BASE": "0.2",
        "GORGIAS_EVENT_RETRY_CAP": "1",
        "GORGIAS_LOG_LEVEL": "ERROR",
        "BENCH_RUNS": str(folder),
        "PYTHONPATH": str(REPO),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scenario(label: str, database_url: str, folder: Path) -> None:
    port = _free_port()
    env = _env(database_url, folder, port)
    kit = Kit(KitSettings.from_mapping(env))  # migrates, and holds the key the sender uses
    key = kit.inbound.keys.issue(Account("acme")).reveal()
    processes = [
        _start([sys.executable, "-c", f"from bench.inbound_app import serve; serve({port})"], env)
    ]
    try:
        _wait_up(f"http://127.0.0.1:{port}/gorgias/inbound/acme/bench/ticket-updated")
        processes += [_start([EXE, "worker", "--threads", "4", "--no-periodic"], env)]
        processes += [_start([EXE, "worker", "--threads", "4", "--no-periodic"], env)]
        _report(label, _drive(port, key, kit, folder))
    finally:
        for proc in processes:
            proc.send_signal(signal.SIGINT)
        for proc in processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        kit.close()


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)  # noqa: S603


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, timeout=1).status_code == 401:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the bench app did not start")


def _drive(port: int, key: str, kit: Kit, folder: Path) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/gorgias/inbound/acme/bench/ticket-updated"
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=SENDERS)) as http:

        def send(ticket: int) -> int:
            body = {"ticket_id": str(ticket), "ticket_updated": f"2025-01-01T00:00:{ticket}"}
            return http.post(url, json=body, headers={"X-Appkit-Key": key}).status_code

        for ticket in range(1, STEADY + 1):  # phase 1: a steady trickle
            assert send(-ticket) == 200
            time.sleep(1 / STEADY_RATE)
        _settle(kit, STEADY, time.monotonic() + 120)
        steady = _latencies(folder)
        for log in folder.glob("runs-*.log"):
            log.unlink()
        burst = list(range(1, EVENTS + 1)) + list(range(RETRY_EVERY, EVENTS + 1, RETRY_EVERY))
        started = time.monotonic()
        with ThreadPoolExecutor(SENDERS) as pool:
            statuses = list(pool.map(send, burst))
        accepted = time.monotonic() - started
    assert statuses.count(200) == len(burst), f"refused: {len(burst) - statuses.count(200)}"
    counts = _settle(kit, STEADY + EVENTS, started + 900)
    finished = time.monotonic() - started
    return {
        **_tally(folder, counts, accepted, finished, len(burst)),
        "median_ms": statistics.median(steady),
        "p95_ms": steady[int(0.95 * (len(steady) - 1))],
    }


def _settle(kit: Kit, total: int, deadline: float) -> dict[str, int]:
    while True:
        counts = kit.inbound.event_store.counts()
        if counts["done"] + counts["dead"] >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def _latencies(folder: Path) -> list[float]:
    found = []
    for log in folder.glob("runs-*.log"):
        for line in log.read_text().splitlines():
            _, latency, attempts = line.split()
            if attempts == "1":
                found.append(float(latency))
    return sorted(found)


def _tally(
    folder: Path, counts: dict[str, int], accepted: float, finished: float, deliveries: int
) -> dict[str, float]:
    runs: dict[int, int] = {}
    for log in folder.glob("runs-*.log"):
        for line in log.read_text().splitlines():
            event_id = int(line.split()[0])
            runs[event_id] = runs.get(event_id, 0) + 1
    return {
        "deliveries": deliveries,
        "accepted_per_s": deliveries / accepted,
        "events_per_s": EVENTS / finished,
        "events": counts["done"] + counts["dead"] - STEADY,
        "dead": counts["dead"],
        "lost": EVENTS - len(runs),
        "duplicated": sum(n - 1 for n in runs.values()),
        "seconds": finished,
    }


def _report(label: str, r: dict[str, float]) -> None:
    print(
        f"   {label}: event-to-handler latency at a steady {STEADY_RATE}/s ({STEADY} events, "
        f"first attempts): median {r['median_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms"
    )
    print(
        f"   {label}: {EVENTS:,} events in {int(r['deliveries']):,} deliveries "
        f"(every {RETRY_EVERY}th sent twice), handler fails every {RETRY_EVERY}th first attempt"
    )
    print(f"     web side accepted {r['accepted_per_s']:,.0f} deliveries/s (8 senders)")
    print(
        f"     handled end to end: {r['events_per_s']:,.0f} events/s with {WORKERS} worker "
        f"processes x 4 threads ({r['seconds']:.1f} s)"
    )
    print(
        f"     lost {int(r['lost'])}, duplicated {int(r['duplicated'])}, "
        f"dead letters {int(r['dead'])}, events recorded {int(r['events']):,}"
    )
