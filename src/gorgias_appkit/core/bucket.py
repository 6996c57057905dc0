"""Leaky-bucket arithmetic for the per-account rate budget, shared by every backend. Stdlib only.

A bucket holds ``level`` requests and leaks ``capacity / window`` of them per second, like the
one Gorgias keeps per account (gorgias-platform.md §4.4). :func:`apply_take` is the one place
that decides whether slots may be taken; the SQL and memory stores call it inside their lock and
the Redis Lua script (``budget_redis.py``) is a line-by-line copy of it.

Why our bucket never lets Gorgias' overflow: every request is counted here *before* it is sent,
so Gorgias' level can exceed ours only by the slots taken but not yet arrived (requests in
flight, slots leased by a process but not yet used). Leased slots expire after
:func:`lease_ttl` seconds, which bounds that excess to about ``rate * ttl`` (one request up to
10 requests/s), and the :func:`ceiling` keeps a safety margin at least that large below the
capacity. A background caller may only fill the bucket to ``(1 - interactive share)`` of it,
so interactive requests always find room first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class BucketState:
    """One account's stored bucket; ``updated_at`` is POSIX seconds."""

    level: float
    capacity: int
    window: float
    updated_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeRequest:
    """Ask for up to ``want`` slots (0: only calibrate) at ``now`` (POSIX seconds).

    ``reserve`` is the share of the bucket this caller must leave free (0 for interactive
    requests). ``capacity`` and ``window`` describe a bucket not stored yet; ``floor`` is a
    lower bound of Gorgias' level observed at ``floor_at``; ``seen_capacity`` the denominator
    of the last ``X-Gorgias-Account-Api-Call-Limit`` header.
    """

    now: float
    want: int
    reserve: float
    margin: int
    capacity: int
    window: float
    floor: float | None = None
    floor_at: float = 0.0
    seen_capacity: int | None = None


@dataclass(frozen=True, slots=True)
class Take:
    """The answer: slots granted now, else seconds until one fits; the bucket after it."""

    granted: int
    wait: float
    level: float
    capacity: int
    window: float

    @property
    def rate(self) -> float:
        """Requests leaked per second."""
        return self.capacity / self.window


def lease_ttl(rate: float) -> float:
    """Seconds a leased slot stays usable: one leak interval, kept within [0.1, 0.5] s."""
    return min(0.5, max(0.1, 1.0 / rate))


def ceiling(capacity: int, window: float, *, margin: int, reserve: float) -> float:
    """The level up to which a caller may fill the bucket."""
    rate = capacity / window
    in_flight = math.ceil(rate * lease_ttl(rate) - _EPS) + 1
    top = capacity - min(max(margin, in_flight), capacity - 1)
    return max(1.0, top * (1.0 - reserve))


def apply_take(state: BucketState | None, request: TakeRequest) -> tuple[BucketState, Take]:
    """Leak, calibrate, then grant as many slots as fit under the caller's ceiling."""
    capacity = request.seen_capacity or (state.capacity if state else request.capacity)
    window = request.window
    rate = capacity / window
    level, updated = (state.level, state.updated_at) if state else (0.0, request.now)
    now = max(request.now, updated)  # another host's clock may be a little behind
    level = max(0.0, level - (now - updated) * rate)
    if request.floor is not None:
        observed = request.floor - max(0.0, now - request.floor_at) * rate
        level = max(level, observed)
    level = min(level, float(capacity))
    top = ceiling(capacity, window, margin=request.margin, reserve=request.reserve)
    room = math.floor(top - level + _EPS)
    granted = max(0, min(request.want, room))
    wait = 0.0
    if request.want > 0 and granted == 0:
        wait = max(0.0, (level + 1 - top) / rate)
    level += granted
    return BucketState(level, capacity, window, now), Take(granted, wait, level, capacity, window)


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    """Parse ``X-Gorgias-Account-Api-Call-Limit: used/limit`` (e.g. ``10/80``); None if odd."""
    if not value:
        return None
    used, sep, limit = value.strip().partition("/")
    if not sep or not used.strip().isdigit() or not limit.strip().isdigit():
        return None
    parsed = int(used), int(limit)
    return parsed if parsed[1] > 0 else None
