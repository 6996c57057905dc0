"""The per-account leaky bucket behind Gorgias' API rate limit (80 requests per 20 s).

The bucket holds at most ``capacity`` requests and leaks ``capacity / window`` of them per
second. A request that would overflow it is refused, with the whole seconds until one slot
frees (at least 1). ``fill`` adds requests made by "someone else" (another app sharing the
account's budget). Each bucket has its own lock, so callers need no other locking.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against a bucket."""

    allowed: bool
    used: int
    limit: int
    retry_after: int


class LeakyBucket:
    """A thread-safe leaky bucket measured in requests."""

    def __init__(
        self, capacity: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.capacity = capacity
        self.window = window
        self._level = 0.0
        self._last = clock()

    @property
    def rate(self) -> float:
        """Requests leaked per second."""
        return self.capacity / self.window

    def _leak(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._last) * self.rate)
        self._last = now

    def _used(self) -> int:
        # Round up, but forgive float dust so a freshly-drained 5/5 does not read 6/5.
        return min(self.capacity, math.ceil(round(self._level, 6)))

    def reconfigure(self, capacity: int, window: float) -> None:
        """Change the limit in place, keeping the current level."""
        with self._lock:
            self._leak()
            self.capacity, self.window = capacity, window

    def acquire(self) -> Decision:
        """Take one slot if there is room; otherwise say how long to wait."""
        with self._lock:
            self._leak()
            if self._level + 1 > self.capacity + 1e-9:
                wait = (self._level + 1 - self.capacity) / self.rate
                return Decision(False, self._used(), self.capacity, max(1, math.ceil(wait)))
            self._level += 1
            return Decision(True, self._used(), self.capacity, 0)

    def peek(self) -> Decision:
        """Report the current level without taking a slot."""
        with self._lock:
            self._leak()
            return Decision(True, self._used(), self.capacity, 0)

    def fill(self, requests: int) -> Decision:
        """Add ``requests`` made elsewhere, capped at the capacity."""
        with self._lock:
            self._leak()
            self._level = min(float(self.capacity), self._level + max(0, requests))
            return Decision(True, self._used(), self.capacity, 0)
