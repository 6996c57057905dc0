"""The one retry policy: when a failed call may be sent again, and how long to wait first.

Every outbound call of the kit (token endpoint, revocation, REST API) classifies its failure as
an :class:`Outcome` and asks its :class:`Attempts` (one call's budget, on the injected clock)
whether and when to try again:

- ``NOT_SENT`` (the connection was never made): the server saw nothing, any call may be resent;
- ``REFUSED`` (429, 503): the server says it did not act, any call may be resent after its
  ``Retry-After`` (REL-04, REL-11);
- ``UNKNOWN`` (a read timeout, a connection dropped after the request left): the server may have
  acted. Only an idempotent call may be resent; a code exchange, a refresh with a rotating
  refresh token or a POST never is (REL-06, REL-03, REL-11);
- ``SERVER_ERROR`` (other 5xx): resent only when idempotent;
- ``FINAL`` (any other answer): never resent.

Waits are capped exponential backoff with full jitter; a server's ``Retry-After`` is a floor.
Nothing is resent past the call's deadline: a ``Retry-After`` longer than what is left ends the
call at once rather than sleeping past it. Inside a browser request the call's deadline is also
never later than the request's (:mod:`.deadline`), and a call that starts with none of it left
sends nothing (:meth:`Attempts.spent`). Stdlib only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from .clock import Clock
from .deadline import RequestDeadline
from .deadline import current_deadline

_rng = random.SystemRandom()


class Outcome(StrEnum):
    """What a failed attempt tells about the server's side (see the module docstring)."""

    NOT_SENT = "not_sent"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    SERVER_ERROR = "server_error"
    FINAL = "final"

    def may_resend(self, *, idempotent: bool) -> bool:
        """Whether a request that ended like this may be sent again."""
        if self in (Outcome.NOT_SENT, Outcome.REFUSED):
            return True
        return idempotent and self in (Outcome.UNKNOWN, Outcome.SERVER_ERROR)


def status_outcome(status: int, *, refused: tuple[int, ...] = (429, 503)) -> Outcome:
    """Classify an HTTP answer: by default 429 and 503 say "not processed" (RFC 9110 §15.6.4)."""
    if status in refused:
        return Outcome.REFUSED
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.FINAL


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How many attempts a call gets, how long to wait between them, and its total deadline."""

    base: float = 0.5
    cap: float = 30.0
    max_attempts: int = 4
    deadline: float = 60.0
    retry_after_cap: float = 120.0

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Return the wait before retry number ``attempt`` (1-based, full jitter).

        A server's ``Retry-After`` is a floor: we never come back earlier than it says.
        """
        jitter = _rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap) + jitter * 0.1
        return jitter

    def start(self, clock: Clock, *, deadline: float | None = None) -> Attempts:
        """Begin one call; ``deadline`` (seconds from now) may only shorten the policy's own.

        Inside a request deadline scope, the call ends no later than the request's deadline.
        """
        budget = self.deadline if deadline is None else min(deadline, self.deadline)
        own = clock.now().timestamp() + budget
        request = current_deadline()
        if request is not None and request.at < own:
            return Attempts(self, clock, request.at, request=request)
        return Attempts(self, clock, own)


class Attempts:
    """One call's retry budget: attempts made, and the deadline as a POSIX time.

    ``request`` is the request deadline when it is what bounds this call: stopping for lack of
    time then marks it reached (the web layer answers "Gorgias is busy").
    """

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        deadline_at: float,
        *,
        request: RequestDeadline | None = None,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.deadline_at = deadline_at
        self.request = request
        self.count = 0

    def begin(self) -> int:
        """Count a new attempt and return its number (1-based)."""
        self.count += 1
        return self.count

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline_at - self.clock.now().timestamp())

    def next_wait(self, *, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when the budget is spent."""
        if self.count >= self.policy.max_attempts:
            return None
        wait = self.policy.delay(self.count, retry_after=retry_after)
        if wait >= self.remaining():
            self._stopped_by_deadline()
            return None
        return wait

    def spent(self) -> bool:
        """Whether the request deadline bounding this call has passed: then send nothing more.

        A call bounded only by its own deadline keeps its first attempt (with the minimal
        timeouts of ``api/transport.timeout_within``), as before request deadlines existed.
        """
        if self.request is None or self.remaining() > 0:
            return False
        self._stopped_by_deadline()
        return True

    def _stopped_by_deadline(self) -> None:
        if self.request is not None:
            self.request.note_reached()

    def wait(self, seconds: float) -> None:
        """Sleep on the injected clock."""
        self.clock.sleep(seconds)


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
