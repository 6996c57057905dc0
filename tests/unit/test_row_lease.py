"""Issue 12, goal 4: SQLite's installation lock is a lease in the row, never a database-wide lock.

Two stores on one SQLite file stand for two processes; their fake clocks make waiting and lease
expiry instant.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gorgias_appkit import Account
from gorgias_appkit import Secret
from gorgias_appkit import TokenSet
from gorgias_appkit.core.bucket import TakeRequest
from gorgias_appkit.core.records import InstallUpdate
from gorgias_appkit.errors import ConcurrentUpdate
from gorgias_appkit.errors import StoreError
from gorgias_appkit.store.crypto import Keyring
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.store.engine import make_engine
from gorgias_appkit.store.engine import upgrade
from gorgias_appkit.store.sql.buckets import SQLBucketStore
from gorgias_appkit.store.sql.installations import LOCK_WAIT_SECONDS
from gorgias_appkit.store.sql.installations import SQLInstallationStore
from gorgias_appkit.store.sql.row_lease import LEASE_SECONDS
from gorgias_appkit.testing import FakeClock

ACME, GLOBEX = Account("acme"), Account("globex")


class Process:
    """One app process: its own engine, store and clock on the shared file."""

    def __init__(self, url: str, key: Secret, clock: FakeClock) -> None:
        self.engine = make_engine(url)
        self.clock = clock
        self.store = SQLInstallationStore(self.engine, keyring=Keyring([key]), clock=clock)


@pytest.fixture
def processes(tmp_path: Path) -> list[Process]:
    url = f"sqlite:///{tmp_path / 'lease.sqlite3'}"
    key = Secret(generate_key())
    start = FakeClock()
    both = [Process(url, key, start), Process(url, key, FakeClock(start.now()))]
    upgrade(both[0].engine)
    for account in (ACME, GLOBEX):
        both[0].store.save_install(
            account,
            tokens=TokenSet(
                access_token=Secret(f"at-{account}"),
                refresh_token=Secret(f"rt-{account}"),
                expires_at=start.now() + timedelta(hours=1),
                scopes=(),
            ),
            user_id=None,
            user_email=None,
        )
    yield both
    for process in both:
        process.engine.dispose()


def test_a_held_row_leaves_other_rows_and_the_database_writable(
    processes: list[Process],
) -> None:
    """While one process holds acme (a token request in flight), another changes globex and
    takes rate-budget slots: nothing waits for the first, unlike a BEGIN IMMEDIATE lock."""
    first, second = processes
    with first.store.locked(ACME):
        with second.store.locked(GLOBEX) as row:
            row.apply(InstallUpdate(event="noted", detail="globex changed meanwhile"))
        request = TakeRequest(now=0.0, want=1, reserve=0.0, margin=2, capacity=80, window=20.0)
        assert SQLBucketStore(second.engine).take("globex", request).granted == 1
    assert second.clock.slept == []  # never had to wait


def test_a_held_row_makes_another_process_wait_then_give_up(processes: list[Process]) -> None:
    """A second holder of the same row polls, then gets StoreError after LOCK_WAIT_SECONDS."""
    first, second = processes
    refused = pytest.raises(StoreError, match="could not lock installation 'acme' in time")
    with first.store.locked(ACME), refused, second.store.locked(ACME):
        pass
    assert LOCK_WAIT_SECONDS <= sum(second.clock.slept) < LOCK_WAIT_SECONDS + 1
    with second.store.locked(ACME) as row:  # released: free again at once
        assert row.current is not None


def test_a_lapsed_lease_is_taken_over_and_the_late_holder_cannot_write(
    processes: list[Process],
) -> None:
    """A holder that outlives its lease (a stalled process) finds its write refused."""
    first, second = processes
    with pytest.raises(ConcurrentUpdate), first.store.locked(ACME) as stale:
        second.clock.advance(LEASE_SECONDS + 1)
        with second.store.locked(ACME) as row:
            row.apply(InstallUpdate(event="noted", detail="taken over"))
        stale.apply(InstallUpdate(event="noted", detail="too late"))
    history = [e.detail for e in first.store.history(ACME)]
    assert "taken over" in history and "too late" not in history


def test_a_block_that_raises_writes_nothing_and_frees_the_row(processes: list[Process]) -> None:
    """The block's writes roll back and the lease is released, as a transaction would be."""
    first, second = processes
    before = first.store.find(ACME)
    with pytest.raises(RuntimeError), first.store.locked(ACME) as row:
        row.apply(InstallUpdate(event="noted", detail="rolled back"))
        raise RuntimeError("the block failed")
    after = second.store.find(ACME)
    assert after is not None and before is not None and after.version == before.version
    with second.store.locked(ACME):
        pass
    assert second.clock.slept == []
