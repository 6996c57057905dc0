"""Slow faults over a real socket: delay vs delay_after, trickle, and long Retry-After values."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

SHORT = httpx.Timeout(5.0, read=0.2)
DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


def _wait_until(check: Any, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def _impatient_exchange(flow: Any, code: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.REDIRECT_URI}
    response: httpx.Response = flow.http.post(
        "/acme/oauth/token", data=data, auth=(flow.CLIENT_ID, flow.CLIENT_SECRET), timeout=SHORT
    )
    return response


def test_delay_acts_after_the_client_gave_up(live_flow: Any) -> None:
    """mode=delay: when the client times out nothing is issued yet; the server acts later."""
    flow = live_flow
    code = flow.code()
    flow.world.add_fault({"path": "/oauth/token", "mode": "delay", "delay_ms": 800})
    with pytest.raises(httpx.ReadTimeout):
        _impatient_exchange(flow, code)
    assert flow.grants() == []  # still sleeping: nothing done when the client gave up
    assert _wait_until(lambda: len(flow.grants()) == 1)


def test_delay_after_code_exchange_counts_as_done(live_flow: Any) -> None:
    """mode=delay_after: the code is consumed before the client gives up; a retry is a replay."""
    flow = live_flow
    code = flow.code()
    flow.world.add_fault({"path": "/oauth/token", "mode": "delay_after", "delay_ms": 500})
    with pytest.raises(httpx.ReadTimeout):
        _impatient_exchange(flow, code)
    (grant,) = flow.grants()  # already there when the client gave up
    assert grant["status"] == "active" and len(grant["access_tokens"]) == 1
    replay = flow.exchange(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert flow.grants()[0]["status"] == "revoked"
    counters = flow.world.stats()["counters"]["acme"]
    assert counters["oauth.code_replay"] == 1 and counters["fault.delay_after"] == 1


def test_delay_after_rotation_then_resend_is_reuse(live_flow: Any) -> None:
    """A refresh that rotated before the client timed out: re-sending the old token is reuse."""
    flow = live_flow
    flow.configure(rotate_refresh_tokens=True)
    rt = flow.tokens()["refresh_token"]
    flow.world.add_fault(
        {
            "path": "/oauth/token",
            "grant_type": "refresh_token",
            "mode": "delay_after",
            "delay_ms": 500,
        }
    )
    with pytest.raises(httpx.ReadTimeout):
        flow.http.post(
            "/acme/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": rt},
            auth=(flow.CLIENT_ID, flow.CLIENT_SECRET),
            timeout=SHORT,
        )
    (grant,) = flow.grants()
    assert [t["status"] for t in grant["refresh_tokens"]] == ["superseded", "current"]
    assert flow.refresh(rt).json()["error"] == "invalid_grant"
    assert [e["result"] for e in flow.grants()[0]["refresh_log"]] == ["ok", "reuse_detected"]


def test_delay_after_api_create_keeps_the_object(live_flow: Any) -> None:
    """A ticket created under delay_after exists although the client never saw the 201."""
    flow = live_flow
    token = flow.tokens()["access_token"]
    flow.world.add_fault({"path": "/api/tickets", "mode": "delay_after", "delay_ms": 500})
    message = {"channel": "api", "via": "api", "from_agent": False, "body_text": "Hi"}
    with pytest.raises(httpx.ReadTimeout):
        flow.http.post(
            "/acme/api/tickets",
            json={"subject": "Timed out but created", "messages": [message]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=SHORT,
        )
    subjects = [t["subject"] for t in flow.world.accounts["acme"].tickets]
    assert subjects[-1] == "Timed out but created"


def test_delay_after_answers_late_but_whole(live_flow: Any) -> None:
    """With a patient client, delay_after answers normally after at least delay_ms."""
    flow = live_flow
    token = flow.tokens()["access_token"]
    flow.world.add_fault({"path": "/api/account", "mode": "delay_after", "delay_ms": 300})
    started = time.monotonic()
    response = flow.api("GET", "/account", token)
    assert response.status_code == 200 and response.json()["domain"] == "acme"
    assert time.monotonic() - started >= 0.3


def test_trickle_defeats_a_per_read_timeout(live_flow: Any) -> None:
    """mode=trickle: every read is quicker than the read timeout, the whole answer is slow."""
    flow = live_flow
    token = flow.tokens()["access_token"]
    whole = flow.api("GET", "/account", token).content
    flow.world.add_fault(
        {"path": "/api/account", "mode": "trickle", "chunk_bytes": 32, "interval_ms": 40}
    )
    started = time.monotonic()
    response = flow.http.get(
        "/acme/api/account",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(5.0, read=0.3),
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.content == whole
    assert int(response.headers["content-length"]) == len(whole)
    assert elapsed >= 0.04 * (len(whole) // 32) > 0.3  # longer than any single read may take


def test_trickle_trips_a_total_deadline(live_flow: Any) -> None:
    """A client enforcing a total deadline gives up on a trickled token answer."""
    flow = live_flow
    code = flow.code()
    flow.world.add_fault({"path": "/oauth/token", "mode": "trickle", "interval_ms": 20})
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.REDIRECT_URI}
    deadline, received = time.monotonic() + 0.3, b""
    with flow.http.stream(
        "POST", "/acme/oauth/token", data=data, auth=(flow.CLIENT_ID, flow.CLIENT_SECRET)
    ) as response:
        expected = int(response.headers["content-length"])
        for chunk in response.iter_raw():
            received += chunk
            if time.monotonic() > deadline:
                break
    assert 0 < len(received) < expected  # gave up half-way
    assert len(flow.grants()) == 1  # the tokens were issued all the same


def test_trickle_with_default_chunk_sends_one_byte_at_a_time(live_flow: Any) -> None:
    """chunk_bytes defaults to 1: the first read returns a single byte."""
    flow = live_flow
    rule = flow.world.add_fault({"path": "/api/*", "mode": "trickle", "interval_ms": 5})
    assert rule.chunk_bytes == 1
    with flow.http.stream("GET", "/acme/api/account") as response:
        first = next(response.iter_raw())
    assert response.status_code == 401 and len(first) == 1


@pytest.mark.parametrize("retry_after", [25, DATE])
@pytest.mark.parametrize("where", ["token", "api"])
def test_long_retry_after_is_sent_verbatim(live_flow: Any, retry_after: Any, where: str) -> None:
    """A 429 with Retry-After 25 s or an HTTP-date comes out exactly as configured."""
    flow = live_flow
    tokens = flow.tokens()
    path = "/oauth/token" if where == "token" else "/api/*"
    flow.world.add_fault(
        {"path": path, "mode": "status", "status": 429, "retry_after": retry_after}
    )
    if where == "token":
        response = flow.refresh(tokens["refresh_token"])
    else:
        response = flow.api("GET", "/tickets", tokens["access_token"])
    assert response.status_code == 429
    assert response.headers.get_list("retry-after") == [str(retry_after)]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"mode": "delay_after"}, "delay_ms"),
        ({"mode": "trickle", "chunk_bytes": 0}, "chunk_bytes"),
        ({"mode": "trickle", "interval_ms": "fast"}, "interval_ms"),
    ],
)
def test_slow_fault_rules_are_validated(live: Any, rule: dict[str, Any], problem: str) -> None:
    """Bad slow-fault rules are refused with a 400 naming the field."""
    response = httpx.post(f"{live.url}/_sandbox/faults", json={"path": "/oauth/token", **rule})
    assert response.status_code == 400 and problem in response.json()["error"]
