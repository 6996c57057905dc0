"""Issue 4: one leaky-bucket rate budget per account, shared by every process of the app.

The sandbox enforces Gorgias' leaky bucket scaled down in time (20 requests per 2 s), so the
multi-process tests take seconds, not minutes. The kit's settings say the same limit.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gorgias_appkit import Kit
from gorgias_appkit import RateLimited
from gorgias_appkit import Secret
from gorgias_appkit.api.budget import MemoryBucketStore
from gorgias_appkit.core.bucket import TakeRequest
from gorgias_appkit.metrics import METRICS
from gorgias_appkit.store.redis_buckets import RedisBucketStore
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .api_helpers import install
from .api_helpers import make_kit
from .api_helpers import redis_url
from .budget_worker import run_batch

LIMIT, WINDOW = 20, 2.0
SCALED = {"GORGIAS_RATE_LIMIT": str(LIMIT), "GORGIAS_RATE_WINDOW": str(WINDOW)}
PROCESSES, CALLS_EACH = 5, 10
ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def scaled(sandbox: SandboxControl) -> SandboxControl:
    """The sandbox enforcing 20 requests per 2 s per account."""
    sandbox.configure(rate_limit=LIMIT, rate_window=WINDOW)
    return sandbox


@pytest.fixture
def slow_leak(sandbox: SandboxControl, sqlite_url: str) -> Iterator[tuple[Kit, SandboxControl]]:
    """20 requests per 20 s (one slot a second): a budget wait always outlasts a short deadline,
    however slowly a loaded machine answers, so these tests need no tight timing."""
    sandbox.configure(rate_limit=LIMIT, rate_window=20)
    kit = make_kit(
        kit_env(
            sandbox.base_url, sqlite_url, GORGIAS_RATE_LIMIT=str(LIMIT), GORGIAS_RATE_WINDOW="20"
        )
    )
    install(kit, sandbox)
    yield kit, sandbox
    kit.close()


@pytest.fixture
def kit(scaled: SandboxControl, sqlite_url: str) -> Iterator[Kit]:
    """A kit installed into acme, budget in SQLite, limits as the sandbox's."""
    kit = make_kit(kit_env(scaled.base_url, sqlite_url, **SCALED))
    install(kit, scaled)
    yield kit
    kit.close()


def run_processes(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> float:
    """Run the batch in PROCESSES spawned processes; return the seconds it took."""
    monkeypatch.syspath_prepend(ROOT)  # spawned children import this module by name
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=run_batch, args=(env, CALLS_EACH, go, results)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        replies = [_reply(results) for _ in range(PROCESSES)]
        assert all(kind == "ready" for kind, _ in replies), replies
        started = time.monotonic()
        go.set()
        replies = [_reply(results) for _ in range(PROCESSES)]
        elapsed = time.monotonic() - started
        assert all(kind == "done" for kind, _ in replies), replies
        assert sum(value for _, value in replies) == 0  # no process saw a 429
        return elapsed
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def _reply(results: Any) -> tuple[str, Any]:
    try:
        reply: tuple[str, Any] = results.get(timeout=60)
    except queue.Empty:
        pytest.fail("a worker process did not answer within 60 s")
    return reply


def share_one_budget(
    env: dict[str, str], sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Install once, run the batch in 5 processes, check Gorgias never answered 429."""
    kit = make_kit(env)
    install(kit, sandbox)
    kit.close()
    elapsed = run_processes(env, monkeypatch)
    total = PROCESSES * CALLS_EACH
    assert sandbox.count("acme", "api.GET /api/tickets") == total
    assert sandbox.count("acme", "api.429") == 0
    # Not faster than Gorgias allows (a full first burst, then the leak rate): the processes
    # paced themselves. How close to that rate they get is a figure for `make bench`.
    fastest = (total - LIMIT) / (LIMIT / WINDOW)
    assert elapsed > fastest - 0.5, elapsed


@pytest.mark.slow
def test_five_processes_share_one_budget_without_a_429(
    scaled: SandboxControl, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REL-15: 5 processes finish 50 GETs with zero 429s near the allowed rate (SQL budget)."""
    share_one_budget(kit_env(scaled.base_url, database_url, **SCALED), scaled, monkeypatch)


@pytest.mark.slow
def test_five_processes_share_one_budget_in_redis(
    scaled: SandboxControl, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REL-15: the same with GORGIAS_REDIS_URL set: the budget lives in Redis."""
    env = kit_env(scaled.base_url, sqlite_url, GORGIAS_REDIS_URL=redis_url(), **SCALED)
    share_one_budget(env, scaled, monkeypatch)


def test_a_drained_bucket_makes_the_client_wait_not_fail(kit: Kit, scaled: SandboxControl) -> None:
    """Another app emptied the budget: the call waits for Gorgias' bucket, then succeeds."""
    scaled.drain("acme", LIMIT)
    waits = METRICS.value("gorgias_rate_waits_total", account="acme")
    client = kit.client_for("acme")
    started = time.monotonic()
    assert client.get("/tickets", {"limit": 1})["data"]
    for _ in range(14):
        client.get("/tickets", {"limit": 1})
    assert time.monotonic() - started >= 1.0
    assert scaled.count("acme", "api.429") == 1  # the first call could not know; later ones do
    assert METRICS.value("gorgias_rate_waits_total", account="acme") > waits


def test_usage_reported_by_the_header_is_respected(kit: Kit, scaled: SandboxControl) -> None:
    """Another app used 15 of 20: after one answer says so, a burst of 12 GETs gets no 429."""
    scaled.drain("acme", 15)
    client = kit.client_for("acme")
    started = time.monotonic()
    for _ in range(12):
        client.get("/tickets", {"limit": 1})
    assert scaled.count("acme", "api.429") == 0
    assert time.monotonic() - started > 0.8  # it had to pace itself


def test_a_smaller_limit_in_the_header_is_adopted(kit: Kit, scaled: SandboxControl) -> None:
    """The header says 10 per window where the settings say 20: the client adopts 10."""
    scaled.configure(rate_limit=10)
    client = kit.client_for("acme")
    for _ in range(14):
        client.get("/tickets", {"limit": 1})
    assert scaled.count("acme", "api.429") == 0


def test_waiting_for_budget_is_logged_and_counted(
    kit: Kit, scaled: SandboxControl, caplog: pytest.LogCaptureFixture
) -> None:
    """A call that has to wait says so at debug level and in the wait metrics."""
    caplog.set_level(logging.DEBUG, logger="gorgias_appkit.api.budget")
    seconds = METRICS.value("gorgias_rate_wait_seconds_total", account="acme")
    client = kit.client_for("acme")
    for _ in range(10 * LIMIT):  # calls outpace the leak: sooner or later one has to wait
        client.get("/tickets", {"limit": 1})
        if METRICS.value("gorgias_rate_wait_seconds_total", account="acme") > seconds:
            break
    assert "waiting" in caplog.text and "rate budget" in caplog.text
    assert METRICS.value("gorgias_rate_wait_seconds_total", account="acme") > seconds
    assert 'gorgias_rate_waits_total{account="acme"}' in METRICS.render()


def test_a_deadline_that_cannot_be_met_sends_nothing(
    slow_leak: tuple[Kit, SandboxControl],
) -> None:
    """With the budget spent, a call whose deadline comes before the next slot raises
    RateLimited at once (no wait) and sends nothing."""
    kit, sandbox = slow_leak
    client = kit.client_for("acme")
    with pytest.raises(RateLimited):  # calls outpace the leak: the budget runs out
        for _ in range(10 * LIMIT):
            client.get("/tickets", {"limit": 1}, deadline=0.5)
    sent = sandbox.count("acme", "api.GET /api/tickets")
    assert LIMIT - 3 <= sent <= LIMIT
    waits = METRICS.value("gorgias_rate_waits_total", account="acme")
    with pytest.raises(RateLimited) as info:
        client.get("/tickets", {"limit": 1}, deadline=0.5)
    assert info.value.retry_after is not None and info.value.retry_after > 0.5
    assert info.value.account == "acme"
    assert METRICS.value("gorgias_rate_waits_total", account="acme") == waits  # never waited
    assert sandbox.count("acme", "api.GET /api/tickets") == sent
    assert sandbox.count("acme", "api.429") == 0


def test_background_calls_leave_the_interactive_share(
    slow_leak: tuple[Kit, SandboxControl],
) -> None:
    """A background job stops at (1 - share) of the bucket; interactive calls still go at once."""
    kit, scaled = slow_leak
    background = kit.client_for("acme", priority="background", deadline=0.5)
    done = 0
    with pytest.raises(RateLimited):  # calls outpace the leak: the background part runs out
        for _ in range(10 * LIMIT):
            background.get("/tickets", {"limit": 1})
            done += 1
    share = kit.settings.rate_interactive_share
    assert done >= int((LIMIT - 2) * (1 - share))
    interactive = kit.client_for("acme", deadline=0.5)
    for _ in range(int((LIMIT - 2) * share) - 1):
        interactive.get("/tickets", {"limit": 1})
    assert scaled.count("acme", "api.429") == 0


def test_the_redis_script_decides_exactly_like_python() -> None:
    """The Lua copy of apply_take gives the same answers on a random sequence of takes."""
    rng = random.Random(4)
    redis_store = RedisBucketStore(Secret(redis_url()))
    memory = MemoryBucketStore()
    now = 1_700_000_000.0
    try:
        for _ in range(300):
            now += rng.choice([0.0, 0.01, 0.1, 0.7, 3.0])
            floor = rng.choice([None, None, float(rng.randint(0, 80))])
            request = TakeRequest(
                now=now,
                want=rng.choice([0, 1, 1, 4, 16]),
                reserve=rng.choice([0.0, 0.25]),
                margin=2,
                capacity=80,
                window=rng.choice([20.0, 2.0]),
                floor=floor,
                floor_at=now - 0.2,
                seen_capacity=rng.choice([None, None, None, 40, 80]),
            )
            got, want = redis_store.take("acme", request), memory.take("acme", request)
            assert (got.granted, got.capacity, got.window) == (
                want.granted,
                want.capacity,
                want.window,
            )
            assert got.wait == pytest.approx(want.wait, abs=1e-6)
            assert got.level == pytest.approx(want.level, abs=1e-6)
    finally:
        redis_store.close()
