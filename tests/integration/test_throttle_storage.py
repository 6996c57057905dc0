"""Issue 9 item 4: ``SQLThrottleStorage``, the `limits` storage over the app's database.

Counts are exact when several engines (processes, instances) hit one key at once, a window
that is over starts again, and `limits`' fixed-window strategy works over it unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from limits import RateLimitItemPerSecond
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine

from gorgias_appkit.store.engine import make_engine
from gorgias_appkit.store.engine import upgrade
from gorgias_appkit.store.sql.throttle import SQLThrottleStorage
from gorgias_appkit.testing import FakeClock


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """Three engines on one database: three processes of the app."""
    made = [make_engine(database_url) for _ in range(3)]
    upgrade(made[0])
    yield made
    for engine in made:
        engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_counts_are_exact_under_concurrent_hits(engines: list[Engine], clock: FakeClock) -> None:
    """Issue 9 item 4: 3 engines x 4 threads x 25 hits on one key count to exactly 300."""
    storages = [SQLThrottleStorage(e, clock=clock) for e in engines]
    seen: list[int] = []
    lock = threading.Lock()

    def hammer(storage: SQLThrottleStorage) -> None:
        for _ in range(25):
            value = storage.incr("login/203.0.113.7", 900)
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in storages for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storages[0].get("login/203.0.113.7") == 300
    assert sorted(seen) == list(range(1, 301))  # every hit saw its own, distinct count


def test_a_finished_window_starts_again(engines: list[Engine], clock: FakeClock) -> None:
    """Issue 9 item 4: after ``expiry`` seconds the key counts from the new hit."""
    storage = SQLThrottleStorage(engines[0], clock=clock)
    start = clock.now().timestamp()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get_expiry("k") == pytest.approx(start + 60)
    clock.advance(59)
    assert storage.incr("k", 60) == 4
    clock.advance(2)
    assert storage.get("k") == 0 and storage.get_expiry("k") == pytest.approx(start + 61)
    assert storage.incr("k", 60, amount=2) == 2
    assert storage.get_expiry("k") == pytest.approx(start + 121)


def test_clear_reset_purge_and_check(engines: list[Engine], clock: FakeClock) -> None:
    """The rest of the `limits` storage contract, and purging finished windows."""
    storage = SQLThrottleStorage(engines[0], clock=clock)
    for key, expiry in (("a", 10), ("b", 10), ("c", 1000)):
        storage.incr(key, expiry)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.count() == 2
    clock.advance(11)
    assert storage.purge_expired() == 1 and storage.count() == 1
    assert storage.check() is True
    assert storage.reset() == 1 and storage.count() == 0


def test_fixed_window_strategy_over_sql(engines: list[Engine], clock: FakeClock) -> None:
    """Issue 9 item 4: `limits`' FixedWindowRateLimiter allows N hits per window over SQL."""
    limiter = FixedWindowRateLimiter(SQLThrottleStorage(engines[1], clock=clock))
    other = FixedWindowRateLimiter(SQLThrottleStorage(engines[2], clock=clock))
    rule = RateLimitItemPerSecond(5, 900, namespace="gorgias-test")
    assert [limiter.hit(rule, "203.0.113.7") for _ in range(3)] == [True] * 3
    assert [other.hit(rule, "203.0.113.7") for _ in range(3)] == [True, True, False]
    assert limiter.test(rule, "203.0.113.7") is False
    assert limiter.test(rule, "198.51.100.1") is True
    stats = limiter.get_window_stats(rule, "203.0.113.7")
    assert stats.remaining == 0
    assert stats.reset_time == pytest.approx(clock.now().timestamp() + 900)
    clock.advance(901)
    assert limiter.hit(rule, "203.0.113.7") is True


def test_hostile_keys_are_stored_bounded(engines: list[Engine], clock: FakeClock) -> None:
    """Keys longer than the column are cut to it; quotes and controls are plain parameters."""
    storage = SQLThrottleStorage(engines[0], clock=clock)
    for key in ("x" * 5000, "'; DROP TABLE gorgias_throttle_counters; --", "é\u202e/\\"):
        assert storage.incr(key, 60) == 1
        assert storage.get(key) == 1
    assert storage.count() == 3
