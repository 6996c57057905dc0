"""Leaky-bucket rate limit: the bucket itself and the API's 429 / headers / drain."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gorgias_sandbox.ratelimit import LeakyBucket


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_leaks_at_limit_per_window() -> None:
    """80/20 s leaks 4 requests per second and refuses the 81st immediate request."""
    clock = FakeClock()
    bucket = LeakyBucket(80, 20, clock)
    assert all(bucket.acquire().allowed for _ in range(80))
    refused = bucket.acquire()
    assert not refused.allowed and refused.retry_after == 1 and refused.used == 80
    clock.now += 0.25
    assert bucket.acquire().allowed
    clock.now += 10
    assert bucket.peek().used == 40


def test_bucket_retry_after_is_whole_seconds_at_least_one() -> None:
    """Retry-after rounds up the wait for one slot and is never below 1."""
    clock = FakeClock()
    bucket = LeakyBucket(2, 20, clock)  # one slot per 10 s
    bucket.acquire()
    bucket.acquire()
    assert bucket.acquire().retry_after == 10
    clock.now += 9.5
    assert bucket.acquire().retry_after == 1


def test_bucket_fill_is_capped() -> None:
    """fill adds foreign requests, never beyond the capacity."""
    bucket = LeakyBucket(5, 1, FakeClock())
    assert bucket.fill(3).used == 3 and bucket.fill(30).used == 5
    assert not bucket.acquire().allowed


@pytest.fixture
def limited(flow: Any) -> tuple[Any, str]:
    """A flow with rate_limit=5 per 5 s (slow leak: no timing flakes), and a token."""
    token = flow.tokens()["access_token"]
    flow.configure(rate_limit=5, rate_window=5.0)
    return flow, token


def test_sixth_immediate_request_gets_429(limited: tuple[Any, str]) -> None:
    """The 6th immediate call is 429 with Retry-after; every answer has the limit header."""
    flow, token = limited
    answers = [flow.api("GET", "/account", token) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["X-Gorgias-Account-Api-Call-Limit"] for r in answers[:5]] == [
        "1/5",
        "2/5",
        "3/5",
        "4/5",
        "5/5",
    ]
    limited_response = answers[-1]
    assert limited_response.json() == {"error": {"msg": "Too many requests"}}
    assert int(limited_response.headers["Retry-after"]) >= 1
    assert limited_response.headers["X-Gorgias-Account-Api-Call-Limit"] == "5/5"
    assert all("Retry-after" not in r.headers for r in answers[:5])
    assert flow.world.stats()["counters"]["acme"]["api.429"] == 1
    flow.configure(rate_window=0.5)  # same level, now leaking 10 per second
    time.sleep(0.15)
    assert flow.api("GET", "/account", token).status_code == 200


def test_limit_is_per_account(limited: tuple[Any, str]) -> None:
    """Filling acme's bucket does not limit globex."""
    flow, token = limited
    flow.http.post("/_sandbox/accounts/acme/drain", json={"requests": 5})
    other = flow.tokens("globex")["access_token"]
    assert flow.api("GET", "/account", other, account="globex").status_code == 200
    assert flow.api("GET", "/account", token).status_code == 429


def test_drain_fills_the_bucket_like_another_app(limited: tuple[Any, str]) -> None:
    """POST /_sandbox/accounts/<a>/drain uses up the budget so the next call is 429."""
    flow, token = limited
    drained = flow.http.post("/_sandbox/accounts/acme/drain", json={"requests": 4})
    assert drained.json() == {"used": 4, "limit": 5}
    assert flow.api("GET", "/account", token).status_code == 200
    assert flow.api("GET", "/account", token).status_code == 429


def test_errors_count_against_the_limit_and_carry_the_header(limited: tuple[Any, str]) -> None:
    """401 and 404 API answers also carry the call-limit header."""
    flow, _ = limited
    response = flow.api("GET", "/account", None)
    assert response.status_code == 401
    assert response.headers["X-Gorgias-Account-Api-Call-Limit"] == "1/5"


def test_disabled_rate_limit_never_refuses(limited: tuple[Any, str]) -> None:
    """rate_limit_enabled=false lets every call through, still sending the header."""
    flow, token = limited
    flow.configure(rate_limit_enabled=False)
    answers = [flow.api("GET", "/account", token) for _ in range(8)]
    assert {r.status_code for r in answers} == {200}
    assert "X-Gorgias-Account-Api-Call-Limit" in answers[-1].headers


def test_always_send_retry_after(limited: tuple[Any, str]) -> None:
    """always_send_retry_after adds Retry-after: 0 to unlimited answers."""
    flow, token = limited
    flow.configure(always_send_retry_after=True)
    assert flow.api("GET", "/account", token).headers["Retry-after"] == "0"


def test_oauth_endpoints_are_not_rate_limited(limited: tuple[Any, str]) -> None:
    """The token endpoint does not consume the API budget."""
    flow, _ = limited
    flow.http.post("/_sandbox/accounts/acme/drain", json={"requests": 5})
    assert flow.exchange(flow.code()).status_code == 200
