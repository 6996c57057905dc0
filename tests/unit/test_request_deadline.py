"""Issue 9, item 2: the request deadline scope bounds every outbound call made inside it."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest

from gorgias_appkit import ConfigError
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit import RateLimited
from gorgias_appkit import TokenSet
from gorgias_appkit.core.account import Account
from gorgias_appkit.core.deadline import current_deadline
from gorgias_appkit.core.deadline import request_deadline
from gorgias_appkit.core.retry import RetryPolicy
from gorgias_appkit.core.secret import Secret
from gorgias_appkit.errors import TokenEndpointError
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.tokens.detached import finish_detached

from .conftest import FakeGorgias

POLICY = RetryPolicy(base=0.5, cap=8.0, max_attempts=5, deadline=60.0)


def test_item2_a_call_inside_a_request_ends_by_the_request_deadline(clock: FakeClock) -> None:
    """The call's deadline is the smaller of its own and what is left of the request's."""
    with request_deadline(2.0, clock=clock) as scope:
        attempts = POLICY.start(clock)
        assert attempts.deadline_at == scope.at
        assert attempts.remaining() == pytest.approx(2.0)
    outside = POLICY.start(clock)
    assert outside.remaining() == pytest.approx(60.0)
    assert current_deadline() is None


def test_item2_a_retry_after_past_the_request_deadline_ends_the_call(clock: FakeClock) -> None:
    """A Retry-After longer than what is left: no wait, and the scope records why it stopped."""
    with request_deadline(2.0, clock=clock) as scope:
        attempts = POLICY.start(clock)
        attempts.begin()
        assert attempts.next_wait(retry_after=25.0) is None
        assert scope.reached
    assert clock.slept == []


def test_item2_a_shorter_own_deadline_is_kept_and_marks_nothing(clock: FakeClock) -> None:
    """A call whose own deadline is sooner is not the request's business."""
    with request_deadline(30.0, clock=clock) as scope:
        attempts = POLICY.start(clock, deadline=1.0)
        attempts.begin()
        assert attempts.next_wait(retry_after=5.0) is None
        assert not scope.reached


def test_item2_storm_of_429s_ends_at_once_inside_a_request(
    kit: Kit, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """GET /api/account answering 429 Retry-After 25: RateLimited at once, no sleeping."""
    kit.store.save_install(Account("acme"), tokens=_tokens(clock), user_id=None, user_email=None)
    gorgias.on("GET", "/api/account", httpx.Response(429, headers={"Retry-After": "25"}))
    with request_deadline(10.0, clock=clock) as scope, pytest.raises(RateLimited):
        kit.client_for("acme").account_info()
    assert len(gorgias.calls("GET", "/api/account")) == 1
    assert clock.slept == [] and scope.reached


def test_item2_nothing_is_sent_once_the_request_deadline_passed(
    kit: Kit, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """A call that starts with no time left sends nothing: API and token endpoint alike."""
    kit.store.save_install(Account("acme"), tokens=_tokens(clock), user_id=None, user_email=None)
    with request_deadline(1.0, clock=clock) as scope:
        clock.advance(2.0)
        with pytest.raises(RateLimited, match="not sent"):
            kit.client_for("acme").account_info()
        with pytest.raises(TokenEndpointError, match="not sent"):
            kit.oauth.revoke(Account("acme"), token=Secret("rt-x"))
    assert gorgias.requests == [] and scope.reached


def test_item2_detached_work_outside_a_request_runs_inline(clock: FakeClock) -> None:
    """Background callers (CLI, refresh-due) run the work in their own thread."""
    ran_in: list[threading.Thread] = []
    result = finish_detached(
        lambda: ran_in.append(threading.current_thread()) or 7,
        key="inline",
        clock=clock,
        what="work",
    )
    assert result == 7 and ran_in == [threading.current_thread()]


def test_item2_detached_work_runs_outside_the_request_scope(clock: FakeClock) -> None:
    """Inside a request the work runs on another thread that sees no request deadline."""
    seen: list[object] = []
    with request_deadline(10.0, clock=clock):
        value = finish_detached(
            lambda: seen.append(current_deadline()) or "done",
            key="scope-free",
            clock=clock,
            what="work",
        )
    assert value == "done" and seen == [None]


def _tokens(clock: FakeClock) -> TokenSet:
    return TokenSet(
        access_token=Secret("at-1"),
        refresh_token=Secret("rt-1"),
        expires_at=clock.now() + timedelta(hours=10),
        scopes=("offline", "tickets:read"),
    )


def test_item2_the_request_deadline_setting(settings_values: dict[str, str]) -> None:
    """GORGIAS_REQUEST_DEADLINE defaults to 10 s and refuses what is not 0.5 to 120 seconds."""
    assert KitSettings.from_mapping(settings_values).request_deadline == 10.0
    chosen = {**settings_values, "GORGIAS_REQUEST_DEADLINE": "2.5"}
    assert KitSettings.from_mapping(chosen).request_deadline == 2.5
    for bad in ("0.1", "600", "soon"):
        with pytest.raises(ConfigError, match="GORGIAS_REQUEST_DEADLINE"):
            KitSettings.from_mapping({**settings_values, "GORGIAS_REQUEST_DEADLINE": bad})
