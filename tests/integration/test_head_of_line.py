"""Issue 12, goal 4: accounts served by one process never wait for each other.

Each test starts a slow operation for one account in a thread (a token request, a wait for rate
budget, a discovery document), waits until the sandbox or the kit shows it is in progress, then
makes a call for another account in the test's own thread, and checks that call came back while
the slow one was still running. The slow operations last seconds and the quick ones milliseconds;
what is checked is which finished first, never how long anything took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from gorgias_appkit import Kit
from gorgias_appkit.metrics import METRICS
from gorgias_sandbox import SandboxControl

from .lifecycle_support import KitFactory
from .lifecycle_support import install

SLOW_MS = 4000


@pytest.fixture
def kits(sandbox: SandboxControl, database_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, database_url)
    yield factory
    factory.close()


class Background:
    """Run ``work`` in a thread; keep what it returned or raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.outcome: list[Any] = []
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.outcome.append(work())
        except Exception as exc:  # handed to the test, which fails on it
            self.outcome.append(exc)

    def finish(self) -> Any:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the slow call never finished"
        (result,) = self.outcome
        if isinstance(result, Exception):
            raise result
        return result


def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"never saw {what}")


def test_a_slow_refresh_of_one_account_never_delays_another_accounts_call(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Goal 4: while acme's token request hangs, globex's API call goes through (no HOL block)."""
    kit = kits()
    sandbox.configure(access_token_ttl=120)  # inside the 300 s leeway: acme's next call refreshes
    install(kit, sandbox, "acme")
    sandbox.configure(access_token_ttl=86400)
    install(kit, sandbox, "globex")
    sandbox.add_fault(
        path="/oauth/token",
        account="acme",
        grant_type="refresh_token",
        mode="delay",
        delay_ms=SLOW_MS,
    )
    slow = Background(lambda: kit.client_for("acme").get("/account"))
    wait_for(lambda: sandbox.count("acme", "fault.delay") == 1, "acme's refresh in progress")
    assert kit.client_for("globex").get("/account")["domain"] == "globex"
    assert slow.thread.is_alive(), "globex's call waited for acme's refresh"
    assert slow.finish()["domain"] == "acme"


def test_a_drained_account_waiting_for_budget_never_delays_another_account(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Goal 4: acme sleeps for rate budget; globex's call in the same process is not held up."""
    sandbox.configure(rate_limit=8, rate_window=20)  # one slot per 2.5 s, for kit and sandbox
    kit = kits(GORGIAS_RATE_LIMIT="8", GORGIAS_RATE_WINDOW="20")
    install(kit, sandbox, "acme")
    install(kit, sandbox, "globex")
    acme = kit.client_for("acme")
    waits = METRICS.value("gorgias_rate_waits_total", account="acme")
    slow = Background(lambda: [acme.get("/account") for _ in range(8)])
    wait_for(
        lambda: METRICS.value("gorgias_rate_waits_total", account="acme") > waits,
        "acme waiting for budget",
    )
    assert kit.client_for("globex").get("/account")["domain"] == "globex"
    assert slow.thread.is_alive(), "globex's call waited for acme's budget"
    assert len(slow.finish()) == 8


def test_a_slow_discovery_document_never_delays_another_accounts_install(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Goal 4: the discovery cache fetches per issuer; one slow issuer blocks no other install."""
    sandbox.configure(publish_jwks=True)
    kit = kits()
    sandbox.add_fault(
        path="/.well-known/openid-configuration", account="acme", mode="delay", delay_ms=SLOW_MS
    )
    slow = Background(lambda: kit.begin_install("acme", browser_id="b1"))
    wait_for(lambda: sandbox.count("acme", "fault.delay") == 1, "acme's discovery in progress")
    assert kit.begin_install("globex", browser_id="b2").startswith(sandbox.base_url + "/globex/")
    assert slow.thread.is_alive(), "globex's install waited for acme's discovery document"
    assert slow.finish().startswith(sandbox.base_url + "/acme/")


def test_one_issuer_is_fetched_once_however_many_installs_ask_at_once(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """The per-issuer fetch is single flight: 8 concurrent installs of acme fetch discovery once."""
    sandbox.configure(publish_jwks=True)
    kit: Kit = kits()
    sandbox.add_fault(
        path="/.well-known/openid-configuration", account="acme", mode="delay", delay_ms=500
    )
    starts = [Background(lambda: kit.begin_install("acme", browser_id="b")) for _ in range(8)]
    for started in starts:
        started.finish()
    assert sandbox.count("acme", "oauth.discovery") == 1
