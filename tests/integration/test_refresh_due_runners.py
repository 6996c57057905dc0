"""Issue 12, goal 3: ``refresh-due --concurrency N``, and runners that share the due work.

The sandbox rotates refresh tokens with reuse detection (a refresh token sent twice revokes the
grant) and answers refreshes after 100 ms. Two ``gorgias-appkit refresh-due`` processes started
together must refresh every due installation exactly once between them, each account reported
by one runner only, and lose no grant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gorgias_appkit import Account
from gorgias_appkit import Kit
from gorgias_appkit.testing import OffsetClock
from gorgias_sandbox import SandboxControl

from .lifecycle_support import KitFactory
from .lifecycle_support import assert_no_superseded_use
from .lifecycle_support import install
from .lifecycle_support import refresh_calls
from .lifecycle_support import stored_refresh_token

SHOPS = [f"shop{n:02d}" for n in range(12)]


@pytest.fixture
def kits(sandbox: SandboxControl, database_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, database_url)
    yield factory
    factory.close()


def install_due(kit: Kit, sandbox: SandboxControl, accounts: list[str]) -> None:
    """Install ``accounts`` with 30-minute access tokens (due for ``--within 3600``)."""
    sandbox.configure(access_token_ttl=1800, rotate_refresh_tokens=True, reuse_detection=True)
    for account in accounts:
        sandbox.create_account(account)
        install(kit, sandbox, account)
    sandbox.configure(access_token_ttl=86400)


class Cron:
    """The installed ``gorgias-appkit`` command started the way cron starts it: output to files.

    (A pipe nobody reads while the test waits for another process would fill up and stall it.)
    """

    def __init__(self, kits: KitFactory, tmp_path: Path, name: str, *args: str) -> None:
        command = Path(sys.executable).with_name("gorgias-appkit")
        env = {**os.environ, **kits.env, "GORGIAS_INSTANCE_PATH": str(tmp_path)}
        self.out, self.err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        with self.out.open("w") as stdout, self.err.open("w") as stderr:
            self.proc = subprocess.Popen(  # noqa: S603 - our own console script
                [str(command), *args], env=env, stdout=stdout, stderr=stderr
            )

    def finish(self) -> tuple[int, str]:
        """Wait for the command; return its exit status and its standard output."""
        self.proc.wait(timeout=120)
        return self.proc.returncode, self.out.read_text()

    def report(self) -> dict[str, Any]:
        """Wait for a ``--json`` run that must succeed; return its document."""
        status, out = self.finish()
        assert status == 0, self.err.read_text()[-3000:]
        report: dict[str, Any] = json.loads(out)
        return report


def test_two_runners_at_once_refresh_every_due_install_exactly_once(
    kits: KitFactory, sandbox: SandboxControl, tmp_path: Path
) -> None:
    """Goal 3: 2 runners x 3 threads, 12 due installs: 12 refreshes, each by one runner, 0 lost."""
    kit = kits()
    install_due(kit, sandbox, SHOPS)
    sandbox.add_fault(
        path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=100, count=-1
    )
    args = ("refresh-due", "--within", "3600", "--concurrency", "3", "--json")
    runners = [Cron(kits, tmp_path, f"runner{n}", *args) for n in range(2)]
    reports = [runner.report() for runner in runners]
    seen = [r["account"] for report in reports for r in report["results"]]
    assert sorted(seen) == SHOPS  # each account reported by exactly one runner
    assert {r["outcome"] for report in reports for r in report["results"]} == {"refreshed"}
    assert sum(report["summary"]["failed"] for report in reports) == 0
    assert [refresh_calls(sandbox, shop) for shop in SHOPS] == [1] * len(SHOPS)
    for shop in SHOPS:
        grant = sandbox.grants(shop)[-1]
        assert grant["status"] == "active", shop
        assert stored_refresh_token(kit, shop) == grant["current_refresh_token"]
        assert_no_superseded_use(sandbox, shop)


def test_concurrent_refresh_due_reports_every_account_and_the_summary(
    kits: KitFactory, sandbox: SandboxControl, tmp_path: Path
) -> None:
    """The output contract holds with threads: one line per account, then the housekeeping and
    summary lines."""
    kit = kits()
    install_due(kit, sandbox, SHOPS[:6])
    sandbox.revoke_account(SHOPS[0])
    runner = Cron(kits, tmp_path, "cron", "refresh-due", "--within", "3600", "--concurrency", "4")
    status, out = runner.finish()
    assert status == 1, runner.err.read_text()[-3000:]  # one refresh failed
    lines = out.splitlines()
    assert sorted(lines[:6]) == sorted(
        [f"{SHOPS[0]}: failed (uninstalled)"] + [f"{shop}: refreshed" for shop in SHOPS[1:6]]
    )
    assert lines[6:] == [
        "purged 0 install states, 0 sessions, 0 throttle counters",
        "refreshed 5, failed 1, skipped 0",
    ]


def test_a_claim_skips_what_another_runner_holds_and_ends_by_itself(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Claims are disjoint between runners, soonest expiry first, and expire after their hold."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_due(kit, sandbox, SHOPS[:5])
    before = clock.now() + timedelta(hours=1)
    first = kit.claims.claim_due(before, runner="one", limit=3, hold=60)
    second = kit.claims.claim_due(before, runner="two", limit=3, hold=60)
    assert len(first) == 3 and len(second) == 2
    assert sorted(first + second) == [Account(s) for s in SHOPS[:5]]
    assert kit.claims.claim_due(before, runner="three", limit=3, hold=60) == []
    assert kit.claims.count_due(before) == 5
    clock.advance(61)
    assert len(kit.claims.claim_due(before, runner="three", limit=10, hold=60)) == 5


def test_a_claim_skips_an_installation_being_refreshed_right_now(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """A row under the installation lock (a web worker refreshing it) is left out of claims."""
    kit = kits()
    install_due(kit, sandbox, SHOPS[:2])
    before = kit.clock.now() + timedelta(hours=1)
    with kit.store.locked(Account(SHOPS[0])):
        claimed = kit.claims.claim_due(before, runner="one", limit=5, hold=60)
    assert claimed == [Account(SHOPS[1])]
