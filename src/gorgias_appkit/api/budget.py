"""RateBudget: every API call takes a slot from its account's shared leaky bucket first.

Owns the :class:`BucketStore` port (backends: :class:`MemoryBucketStore` here, SQL in
``budget_sql.py``, Redis in ``budget_redis.py``) and :class:`RateBudget`, which

- leases a few slots per store round trip when a process calls fast (unused ones expire after
  :func:`~.bucket.lease_ttl`), so the per-call cost stays low;
- waits visibly when the bucket is full: a debug log line, ``gorgias_rate_waits_total`` and
  ``gorgias_rate_wait_seconds_total``; past the caller's deadline it raises
  :class:`RateLimited` without sending anything;
- calibrates from ``X-Gorgias-Account-Api-Call-Limit``: when Gorgias reports more requests
  than we counted (another app shares the account), our level is raised; a different
  denominator is adopted as the capacity; a 429 fills our bucket.

The arithmetic lives in ``bucket.py``. Stdlib only. Never logs a token (it never sees one).
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import Literal
from typing import Protocol

from ..core.bucket import BucketState
from ..core.bucket import Take
from ..core.bucket import TakeRequest
from ..core.bucket import apply_take
from ..core.bucket import ceiling
from ..core.bucket import lease_ttl
from ..core.bucket import parse_call_limit
from ..core.clock import Clock
from ..errors import RateLimited
from ..metrics import METRICS
from ..metrics import Metrics

Priority = Literal["interactive", "background"]
PRIORITIES: tuple[Priority, ...] = ("interactive", "background")
# A lease is also capped at a tenth of the bucket (7 slots at Gorgias' 80 per 20 s) and at what
# this process uses within the lease's lifetime; this cap only bites for very large limits.
MAX_LEASE = 1024
log = logging.getLogger("gorgias_appkit.api.budget")
_rng = random.SystemRandom()


class BucketStore(Protocol):
    """Where the buckets live; ``take`` must be atomic across every process that shares it."""

    def take(self, account: str, request: TakeRequest) -> Take:
        """Apply :func:`~.bucket.apply_take` to ``account``'s bucket atomically."""
        ...


class MemoryBucketStore:
    """Buckets in this process only (tests, single-process scripts)."""

    def __init__(self) -> None:
        self._states: dict[str, BucketState] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "MemoryBucketStore()"

    def take(self, account: str, request: TakeRequest) -> Take:
        """Apply the take under a process-local lock."""
        with self._lock:
            state, take = apply_take(self._states.get(account), request)
            self._states[account] = state
            return take


@dataclass(slots=True)
class _Lease:
    """Slots this process took but has not used yet, and how fast it uses them."""

    held: int = 0
    expires: float = 0.0
    ttl: float = 0.0
    last: float | None = None
    gap: float | None = None  # moving average of the time between two acquires

    def tick(self, now: float) -> None:
        if self.last is not None:
            gap = max(0.0, now - self.last)
            self.gap = gap if self.gap is None else 0.7 * self.gap + 0.3 * gap
        self.last = now

    def size(self, most: int) -> int:
        """As many slots as this process will likely use before they expire."""
        if self.gap is None or self.ttl <= 0:
            return 1
        return max(1, min(most, int(0.8 * self.ttl / max(self.gap, 1e-6))))


@dataclass(slots=True)
class _Seen:
    level: float
    at: float
    capacity: int
    window: float


class RateBudget:
    """Pace every call to an account so all processes together stay under Gorgias' limit."""

    def __init__(
        self,
        store: BucketStore,
        *,
        clock: Clock,
        capacity: int = 80,
        window: float = 20.0,
        margin: int = 2,
        interactive_share: float = 0.25,
        metrics: Metrics = METRICS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.capacity = capacity
        self.window = window
        self.margin = margin
        self.interactive_share = interactive_share
        self.metrics = metrics
        self._lock = threading.Lock()
        self._leases: dict[tuple[str, Priority], _Lease] = {}
        self._floors: dict[str, tuple[float, float]] = {}
        self._seen: dict[str, _Seen] = {}

    def __repr__(self) -> str:
        return f"RateBudget({self.store!r}, {self.capacity}/{self.window:g}s)"

    # -- taking ----------------------------------------------------------------------------
    def acquire(
        self, account: str, *, priority: Priority = "interactive", deadline: float | None = None
    ) -> float:
        """Take one slot, waiting for it if needed; return the seconds waited.

        ``deadline`` is a POSIX time (``clock.now().timestamp()`` scale): when the next slot
        comes later than that, :class:`RateLimited` is raised at once and nothing is sent.
        """
        now = self._now()
        with self._lock:
            lease = self._leases.get((account, priority))
            if lease is None:
                lease = self._leases[(account, priority)] = _Lease()
            lease.tick(now)
            if lease.held > 0 and now < lease.expires:
                lease.held -= 1
                return 0.0
            want = lease.size(self._max_lease(account))
        waited = 0.0
        while True:
            take = self._take(account, now, want, priority)
            if take.granted:
                with self._lock:
                    lease.held = take.granted - 1
                    lease.ttl = lease_ttl(take.rate)
                    lease.expires = now + lease.ttl
                return waited
            wait = take.wait + _rng.uniform(0.0, min(0.02, 0.2 / take.rate))
            if deadline is not None and now + wait > deadline:
                raise RateLimited(
                    f"no rate budget before the deadline (next slot in {wait:.2f}s)",
                    account=account,
                    retry_after=wait,
                )
            if not waited:
                self.metrics.inc("gorgias_rate_waits_total", account=account)
            log.debug(
                "waiting %.3fs for rate budget (%s, level %.1f/%d)",
                wait,
                priority,
                take.level,
                take.capacity,
                extra={"account": account},
            )
            self.clock.sleep(wait)
            self.metrics.inc("gorgias_rate_wait_seconds_total", wait, account=account)
            waited += wait
            now = self._now()

    def _take(self, account: str, now: float, want: int, priority: Priority) -> Take:
        with self._lock:
            floor = self._floors.pop(account, None)
        reserve = self.interactive_share if priority == "background" else 0.0
        request = TakeRequest(
            now=now,
            want=want,
            reserve=reserve,
            margin=self.margin,
            capacity=self.capacity,
            window=self.window,
            floor=floor[0] if floor else None,
            floor_at=floor[1] if floor else 0.0,
        )
        take = self.store.take(account, request)
        with self._lock:
            self._seen[account] = _Seen(take.level, now, take.capacity, take.window)
        return take

    # -- calibrating -----------------------------------------------------------------------
    def observe(self, account: str, *, header: str | None, sent_at: float, status: int) -> None:
        """Learn from one answer: its call-limit header, and whether it was a 429."""
        parsed = parse_call_limit(header)
        now = self._now()
        with self._lock:
            seen = self._seen.get(account)
        capacity = parsed[1] if parsed else (seen.capacity if seen else self.capacity)
        if status == 429:
            self._calibrate(account, float(capacity), now, capacity)
            return
        if parsed is None:
            return
        floor = float(parsed[0] - 1)  # the header rounds Gorgias' level up
        if seen is None or capacity != seen.capacity:
            self._calibrate(account, floor, sent_at, capacity)
            return
        rate = seen.capacity / seen.window
        estimate = max(0.0, seen.level - (now - seen.at) * rate)
        floor_now = floor - (now - sent_at) * rate
        if floor_now <= estimate:
            return
        with self._lock:
            pending = self._floors.get(account)
            if pending is None or floor_now > pending[0] - (now - pending[1]) * rate:
                self._floors[account] = (floor, sent_at)
            held = sum(self._leases.get((account, p), _Lease()).held for p in PRIORITIES)
            top = ceiling(seen.capacity, seen.window, margin=self.margin, reserve=0.0)
            if floor_now + held > top:  # someone else is using the account: drop our leases
                self._drop_leases(account)

    def _calibrate(self, account: str, floor: float, at: float, capacity: int) -> None:
        with self._lock:
            self._floors.pop(account, None)
            self._drop_leases(account)
        request = TakeRequest(
            now=self._now(),
            want=0,
            reserve=0.0,
            margin=self.margin,
            capacity=self.capacity,
            window=self.window,
            floor=floor,
            floor_at=at,
            seen_capacity=capacity,
        )
        take = self.store.take(account, request)
        with self._lock:
            self._seen[account] = _Seen(take.level, request.now, take.capacity, take.window)

    def _max_lease(self, account: str) -> int:
        seen = self._seen.get(account)
        capacity, window = (seen.capacity, seen.window) if seen else (self.capacity, self.window)
        top = ceiling(capacity, window, margin=self.margin, reserve=0.0)
        return max(1, min(MAX_LEASE, int(top // 10)))

    def _drop_leases(self, account: str) -> None:
        for priority in PRIORITIES:
            lease = self._leases.get((account, priority))
            if lease is not None:
                lease.held = 0
                lease.expires = 0.0

    def _now(self) -> float:
        return self.clock.now().timestamp()
