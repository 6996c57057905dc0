"""Issue 12, goal 4: the enterprise window (80 requests per 10 s instead of per 20 s).

Scaled down in time like ``test_rate_budget.py``: the standard window is 20 requests per 2 s,
the enterprise one 20 per 1 s. Five processes share one account's budget; Gorgias (the sandbox)
must never answer 429, whether the budget lives in SQL or in Redis, and a kit configured for the
standard window stays safe against an enterprise account (it only goes slower).
"""

from __future__ import annotations

import multiprocessing
import queue
from pathlib import Path
from typing import Any

import pytest

from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .api_helpers import install
from .api_helpers import make_kit
from .api_helpers import redis_url
from .budget_worker import run_batch

LIMIT, ENTERPRISE, STANDARD = 20, 1.0, 2.0
PROCESSES, CALLS_EACH = 5, 12
ROOT = str(Path(__file__).resolve().parents[2])


def share(env: dict[str, str], sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install acme, run the batch in PROCESSES processes, check every call made it, no 429."""
    kit = make_kit(env)
    install(kit, sandbox)
    kit.close()
    monkeypatch.syspath_prepend(ROOT)  # spawned children import the worker by name
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=run_batch, args=(env, CALLS_EACH, go, results)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        assert all(reply(results)[0] == "ready" for _ in procs)
        go.set()
        replies = [reply(results) for _ in procs]
        assert all(kind == "done" for kind, _ in replies), replies
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    assert sandbox.count("acme", "api.GET /api/tickets") == PROCESSES * CALLS_EACH
    assert sandbox.count("acme", "api.429") == 0


def reply(results: Any) -> tuple[str, Any]:
    try:
        answer: tuple[str, Any] = results.get(timeout=60)
    except queue.Empty:
        pytest.fail("a worker process did not answer within 60 s")
    return answer


@pytest.mark.slow
def test_the_enterprise_window_shared_by_five_processes_in_sql(
    sandbox: SandboxControl, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GORGIAS_RATE_WINDOW=10 (scaled: 1 s): 60 GETs from 5 processes, no 429 (SQL budget)."""
    sandbox.configure(rate_limit=LIMIT, rate_window=ENTERPRISE)
    limits = {"GORGIAS_RATE_LIMIT": str(LIMIT), "GORGIAS_RATE_WINDOW": str(ENTERPRISE)}
    share(kit_env(sandbox.base_url, database_url, **limits), sandbox, monkeypatch)


@pytest.mark.slow
def test_the_enterprise_window_shared_by_five_processes_in_redis(
    sandbox: SandboxControl, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with the budget in Redis."""
    sandbox.configure(rate_limit=LIMIT, rate_window=ENTERPRISE)
    limits = {"GORGIAS_RATE_LIMIT": str(LIMIT), "GORGIAS_RATE_WINDOW": str(ENTERPRISE)}
    env = kit_env(sandbox.base_url, sqlite_url, GORGIAS_REDIS_URL=redis_url(), **limits)
    share(env, sandbox, monkeypatch)


@pytest.mark.slow
def test_the_standard_window_is_safe_against_an_enterprise_account(
    sandbox: SandboxControl, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kit left at the standard window paces an enterprise account below its limit: no 429."""
    sandbox.configure(rate_limit=LIMIT, rate_window=ENTERPRISE)
    limits = {"GORGIAS_RATE_LIMIT": str(LIMIT), "GORGIAS_RATE_WINDOW": str(STANDARD)}
    share(kit_env(sandbox.base_url, sqlite_url, **limits), sandbox, monkeypatch)
