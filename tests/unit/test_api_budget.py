"""Issue 4: the leaky-bucket arithmetic and the RateBudget gate, with a fake clock."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from gorgias_appkit import ConfigError
from gorgias_appkit import KitSettings
from gorgias_appkit import RateLimited
from gorgias_appkit.api.budget import MemoryBucketStore
from gorgias_appkit.api.budget import RateBudget
from gorgias_appkit.core.bucket import Take
from gorgias_appkit.core.bucket import TakeRequest
from gorgias_appkit.core.bucket import apply_take
from gorgias_appkit.core.bucket import ceiling
from gorgias_appkit.core.bucket import parse_call_limit
from gorgias_appkit.metrics import Metrics
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.testing import FakeClock


class CountingStore(MemoryBucketStore):
    """A memory store that counts round trips (a substitute, not a patch)."""

    def __init__(self) -> None:
        super().__init__()
        self.takes = 0

    def take(self, account: str, request: TakeRequest) -> Take:
        self.takes += 1
        return super().take(account, request)


def request(now: float, want: int = 1, **changes: object) -> TakeRequest:
    values: dict[str, object] = {
        "now": now,
        "want": want,
        "reserve": 0.0,
        "margin": 2,
        "capacity": 80,
        "window": 20.0,
    }
    return TakeRequest(**{**values, **changes})  # type: ignore[arg-type]


def test_a_burst_fills_up_to_the_margin_then_leaks_at_the_rate() -> None:
    """80 per 20 s: 78 slots at once, then one every 0.25 s."""
    state, take = apply_take(None, request(0.0, want=100))
    assert take.granted == 78 and take.wait == 0
    state, take = apply_take(state, request(0.0))
    assert take.granted == 0 and take.wait == pytest.approx(0.25)
    state, take = apply_take(state, request(0.25))
    assert take.granted == 1
    assert state.level == pytest.approx(78)


def test_the_margin_grows_with_the_rate_to_cover_leased_slots() -> None:
    """The safety margin covers the slots a lease may hold (rate x lease TTL)."""
    assert ceiling(80, 20.0, margin=2, reserve=0.0) == 78
    assert ceiling(20, 2.0, margin=2, reserve=0.0) == 18
    assert ceiling(80, 2.0, margin=2, reserve=0.0) == 75
    assert ceiling(80, 20.0, margin=2, reserve=0.25) == pytest.approx(58.5)


def test_a_floor_from_the_header_raises_the_level_and_leaks_from_when_it_was_seen() -> None:
    """Gorgias said 61 used at t=0; at t=1 we assume at least 60 - 4 = 56 in the bucket."""
    state, _ = apply_take(None, request(0.0, want=0))
    state, take = apply_take(state, request(1.0, want=0, floor=60.0, floor_at=0.0))
    assert take.level == pytest.approx(56.0)


def test_a_different_denominator_is_adopted_and_clocks_never_run_backwards() -> None:
    """A 40/40 header makes the capacity 40; a take stamped earlier adds no level."""
    state, _ = apply_take(None, request(10.0, want=5))
    state, take = apply_take(state, request(10.0, want=0, seen_capacity=40))
    assert take.capacity == 40 and state.capacity == 40
    state, take = apply_take(state, request(9.0, want=0))
    assert take.level == pytest.approx(5.0) and state.updated_at == 10.0


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("10/80", (10, 80)),
        (" 80/80 ", (80, 80)),
        ("", None),
        (None, None),
        ("x/80", None),
        ("10", None),
        ("5/0", None),
    ],
)
def test_the_call_limit_header_is_parsed_defensively(
    value: str | None, parsed: tuple[int, int] | None
) -> None:
    """``used/limit`` or nothing."""
    assert parse_call_limit(value) == parsed


def test_a_fast_caller_leases_several_slots_per_round_trip() -> None:
    """Calls within a lease's lifetime reuse leased slots instead of asking the store."""
    store, clock = CountingStore(), FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    budget = RateBudget(store, clock=clock, capacity=80, window=20.0)
    for _ in range(40):
        budget.acquire("acme")
        clock.sleep(0.001)
    assert store.takes < 15


def test_a_deadline_that_cannot_be_met_raises_without_sleeping() -> None:
    """With the bucket full, a 0.1 s deadline raises RateLimited at once."""
    store, clock = MemoryBucketStore(), FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    budget = RateBudget(store, clock=clock, capacity=80, window=20.0)
    store.take("acme", request(clock.now().timestamp(), want=78))
    deadline = clock.now().timestamp() + 0.1
    with pytest.raises(RateLimited) as info:
        budget.acquire("acme", deadline=deadline)
    assert clock.slept == []
    assert info.value.retry_after == pytest.approx(0.25, abs=0.03)


def test_waiting_is_counted_and_background_keeps_out_of_the_interactive_share() -> None:
    """Background stops at 75 % of the bucket, waits visibly; interactive still gets in."""
    metrics, clock = Metrics(), FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    budget = RateBudget(
        MemoryBucketStore(),
        clock=clock,
        capacity=80,
        window=20.0,
        interactive_share=0.25,
        metrics=metrics,
    )
    for _ in range(58):
        budget.acquire("acme", priority="background")
    assert clock.slept == []
    assert budget.acquire("acme") == 0.0  # interactive: room left
    assert budget.acquire("acme", priority="background") > 0
    assert metrics.value("gorgias_rate_waits_total", account="acme") == 1
    assert metrics.value("gorgias_rate_wait_seconds_total", account="acme") == pytest.approx(
        sum(clock.slept)
    )


def test_a_429_fills_the_bucket_and_drops_leases() -> None:
    """After a 429 the next call waits until the bucket has leaked below the ceiling."""
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    budget = RateBudget(MemoryBucketStore(), clock=clock, capacity=80, window=20.0)
    budget.acquire("acme")
    budget.observe("acme", header="80/80", sent_at=clock.now().timestamp(), status=429)
    assert budget.acquire("acme") == pytest.approx(0.75, abs=0.03)


def test_rate_settings_are_parsed_and_checked_together() -> None:
    """GORGIAS_RATE_* and GORGIAS_REDIS_URL have defaults; bad values are all listed at once."""
    base = {
        "GORGIAS_CLIENT_ID": "client",
        "GORGIAS_CLIENT_SECRET": "secret",
        "GORGIAS_APP_URL": "https://app.example.com",
        "GORGIAS_DATABASE_URL": "sqlite://",
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
    }
    settings = KitSettings.from_mapping(base)
    assert (settings.rate_limit, settings.rate_window, settings.rate_margin) == (80, 20.0, 2)
    assert settings.redis_url is None and settings.rate_interactive_share == 0.25
    tuned = KitSettings.from_mapping(
        {**base, "GORGIAS_RATE_WINDOW": "10", "GORGIAS_REDIS_URL": "redis://:pw@cache:6379/0"}
    )
    assert tuned.rate_window == 10.0 and "pw" not in repr(tuned)
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping(
            {
                **base,
                "GORGIAS_RATE_LIMIT": "1",
                "GORGIAS_RATE_INTERACTIVE_SHARE": "0.95",
                "GORGIAS_REDIS_URL": "http://cache",
            }
        )
    text = str(info.value)
    for name in ("GORGIAS_RATE_LIMIT", "GORGIAS_RATE_INTERACTIVE_SHARE", "GORGIAS_REDIS_URL"):
        assert name in text
