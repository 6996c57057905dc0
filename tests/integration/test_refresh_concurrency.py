"""Issue 3: one refresh per account however many threads, processes and instances ask (REL-01/12).

The sandbox rotates refresh tokens with reuse detection, the strictest server behaviour: a
second refresh with the old refresh token would revoke the whole grant.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gorgias_appkit import InstallStatus
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.testing import OffsetClock
from gorgias_sandbox import SandboxControl

from .lifecycle_support import KitFactory
from .lifecycle_support import assert_no_superseded_use
from .lifecycle_support import grant
from .lifecycle_support import install
from .lifecycle_support import refresh_calls
from .lifecycle_support import stored_refresh_token

PROCESSES = 4
THREADS = 8
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kits(sandbox: SandboxControl, database_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, database_url)
    yield factory
    factory.close()


def storm_process(
    env: dict[str, str], account: str, threads: int, start: Any, results: Any
) -> None:
    """One app instance: its own Kit, ``threads`` callers released together."""
    kit = Kit(KitSettings.from_mapping(env), migrate=False)
    gate = threading.Barrier(threads)
    got: list[tuple[str, str]] = []

    def call() -> None:
        gate.wait()
        try:
            got.append(("ok", kit.access_token_for(account)))
        except Exception as exc:  # reported to the parent, which fails the test
            got.append(("error", type(exc).__name__))

    workers = [threading.Thread(target=call) for _ in range(threads)]
    start.wait(timeout=60)  # every process is ready: go
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    kit.close()
    results.put(got)


def test_one_refresh_across_4_processes_x_8_threads(
    kits: KitFactory, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REL-01: 32 callers in 4 processes, expired token, rotation+reuse detection: 1 refresh."""
    sandbox.configure(rotate_refresh_tokens=True, reuse_detection=True, access_token_ttl=1)
    kit = kits()
    install(kit, sandbox)
    sandbox.configure(access_token_ttl=86400)
    sandbox.add_fault(
        path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=500
    )  # widen the race window
    monkeypatch.syspath_prepend(str(ROOT))  # spawned children import this module
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=storm_process, args=(kits.env, "acme", THREADS, start, results))
        for _ in range(PROCESSES)
    ]
    while kit.installation("acme").expires_at > kit.clock.now():
        time.sleep(0.1)  # really expired before the storm
    for process in processes:
        process.start()
    outcomes = [item for _ in processes for item in results.get(timeout=90)]
    for process in processes:
        process.join(timeout=30)
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    assert len(outcomes) == PROCESSES * THREADS
    assert {kind for kind, _ in outcomes} == {"ok"}, outcomes
    tokens = {token for _, token in outcomes}
    assert len(tokens) == 1
    assert refresh_calls(sandbox) == 1
    assert tokens == {kit.access_token_for("acme")}
    # The grant is alive: a later refresh with the stored refresh token succeeds.
    later = OffsetClock()
    later.advance(86400)
    kits(clock=later).access_token_for("acme")
    assert refresh_calls(sandbox) == 2
    assert grant(sandbox)["status"] == "active"
    assert stored_refresh_token(kit) == grant(sandbox)["current_refresh_token"]
    assert_no_superseded_use(sandbox)


def test_cron_and_request_race_make_one_refresh(kits: KitFactory, sandbox: SandboxControl) -> None:
    """REL-12: refresh-due and a web request refreshing the same account at once: 1 refresh."""
    sandbox.configure(rotate_refresh_tokens=True, access_token_ttl=60)
    cron, web = kits(), kits()
    install(cron, sandbox)  # 60 s left: due for the request path and for cron
    sandbox.configure(access_token_ttl=86400)
    sandbox.add_fault(path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=300)
    reports: list[Any] = []
    tokens: list[str] = []
    gate = threading.Barrier(2)

    def run_cron() -> None:
        gate.wait()
        reports.extend(cron.refresh_due(within=3600))

    def run_request() -> None:
        gate.wait()
        time.sleep(0.05)
        tokens.append(web.access_token_for("acme"))

    threads = [threading.Thread(target=run_cron), threading.Thread(target=run_request)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.outcome.value for r in reports] == ["refreshed"]
    assert refresh_calls(sandbox) == 1
    assert tokens == [web.access_token_for("acme")]
    assert web.installation("acme").status is InstallStatus.ACTIVE
    assert_no_superseded_use(sandbox)
