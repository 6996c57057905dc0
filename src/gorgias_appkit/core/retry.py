"""Retry timing: capped exponential backoff with full jitter, and ``Retry-After`` parsing.

Used by the token endpoint client and the API client alike (REL-04, REL-11). Stdlib only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

_rng = random.SystemRandom()


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """How long to wait before attempt ``n`` (1-based) and when to give up."""

    base: float = 0.5
    cap: float = 30.0
    max_attempts: int = 4
    deadline: float = 60.0
    retry_after_cap: float = 120.0

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Return the wait before retry number ``attempt`` (full jitter, AWS style).

        A server's ``Retry-After`` is a floor: we never come back earlier than it says.
        """
        jitter = _rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap) + jitter * 0.1
        return jitter


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Parse ``Retry-After`` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), 86400.0))
