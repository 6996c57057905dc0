"""The one retry policy: which failures may be resent, and the waits between attempts."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from gorgias_appkit.core.retry import Outcome
from gorgias_appkit.core.retry import RetryPolicy
from gorgias_appkit.core.retry import parse_retry_after
from gorgias_appkit.core.retry import status_outcome
from gorgias_appkit.testing import FakeClock


@pytest.mark.parametrize(
    ("outcome", "idempotent", "expected"),
    [
        (Outcome.NOT_SENT, False, True),
        (Outcome.REFUSED, False, True),
        (Outcome.UNKNOWN, False, False),
        (Outcome.SERVER_ERROR, False, False),
        (Outcome.FINAL, False, False),
        (Outcome.NOT_SENT, True, True),
        (Outcome.REFUSED, True, True),
        (Outcome.UNKNOWN, True, True),
        (Outcome.SERVER_ERROR, True, True),
        (Outcome.FINAL, True, False),
    ],
)
def test_only_calls_the_server_cannot_have_acted_on_are_resent(
    outcome: Outcome, idempotent: bool, expected: bool
) -> None:
    """A code, a rotating refresh token or a POST is resent only when nothing happened."""
    assert outcome.may_resend(idempotent=idempotent) is expected


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (429, Outcome.REFUSED),
        (503, Outcome.REFUSED),
        (500, Outcome.SERVER_ERROR),
        (502, Outcome.SERVER_ERROR),
        (504, Outcome.SERVER_ERROR),
        (400, Outcome.FINAL),
        (401, Outcome.FINAL),
        (307, Outcome.FINAL),
    ],
)
def test_status_outcomes(status: int, outcome: Outcome) -> None:
    """429 and 503 say "not processed"; other 5xx may have acted; the rest is an answer."""
    assert status_outcome(status) is outcome


def test_a_caller_may_narrow_what_counts_as_refused() -> None:
    """The API client counts only 429 as a refusal for a POST."""
    assert status_outcome(503, refused=(429,)) is Outcome.SERVER_ERROR


def test_attempts_stop_at_the_attempt_limit() -> None:
    """After ``max_attempts`` there is no next wait."""
    attempts = RetryPolicy(max_attempts=3, deadline=600).start(FakeClock())
    waits = []
    for _ in range(5):
        attempts.begin()
        wait = attempts.next_wait()
        if wait is None:
            break
        waits.append(wait)
        attempts.wait(wait)
    assert attempts.count == 3 and len(waits) == 2


def test_retry_after_is_a_floor() -> None:
    """A server's Retry-After is never undercut."""
    attempts = RetryPolicy(deadline=600).start(FakeClock())
    attempts.begin()
    wait = attempts.next_wait(retry_after=7)
    assert wait is not None and 7 <= wait < 8


def test_retry_after_past_the_deadline_ends_the_call_at_once() -> None:
    """Retry-After: 25 with 10 s left: give up now, do not sleep through the deadline."""
    clock = FakeClock()
    attempts = RetryPolicy(deadline=10).start(clock)
    attempts.begin()
    assert attempts.next_wait(retry_after=25) is None
    assert clock.slept == []


def test_a_caller_deadline_only_shortens_the_policy() -> None:
    """``start(deadline=…)`` takes the shorter of the two budgets."""
    clock = FakeClock()
    assert RetryPolicy(deadline=60).start(clock, deadline=5).remaining() == pytest.approx(5)
    assert RetryPolicy(deadline=60).start(clock, deadline=500).remaining() == pytest.approx(60)


def test_backoff_grows_and_is_capped() -> None:
    """Full jitter: each wait lies in [0, min(cap, base * 2^(n-1))]."""
    policy = RetryPolicy(base=1, cap=4)
    for attempt, top in ((1, 1), (2, 2), (3, 4), (8, 4)):
        for _ in range(50):
            assert 0 <= policy.delay(attempt) <= top


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 25 ", 25.0),
        ("Wed, 01 Jan 2025 00:00:30 GMT", 30.0),
        ("soon", None),
        (None, None),
        ("99999999", 86400.0),
    ],
)
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    """Delta-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at a day; junk is None."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds
