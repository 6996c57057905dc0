"""Fault injection over real HTTP: status, delay, drops before/after acting, redirect."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest


def _refresh_rule(**rule: Any) -> dict[str, Any]:
    return {"path": "/oauth/token", "grant_type": "refresh_token", **rule}


def test_status_fault_answers_without_acting(live_flow: Any) -> None:
    """mode=status answers the status (with Retry-After) and issues nothing."""
    flow = live_flow
    flow.configure(rotate_refresh_tokens=True)
    rt = flow.tokens()["refresh_token"]
    flow.world.add_fault(_refresh_rule(mode="status", status=503, retry_after=7, count=2))
    for _ in range(2):
        response = flow.refresh(rt)
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert flow.refresh(rt).status_code == 200  # the same RT still works: nothing was done
    assert [e["result"] for e in flow.grants()[0]["refresh_log"]] == ["ok"]


def test_status_fault_with_http_date_and_body(live_flow: Any) -> None:
    """retry_after may be an HTTP-date and body replaces the default body."""
    flow = live_flow
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    flow.world.add_fault(
        {
            "path": "/api/*",
            "mode": "status",
            "status": 429,
            "retry_after": date,
            "body": {"error": {"msg": "slow down"}},
        }
    )
    token = flow.tokens()["access_token"]
    response = flow.api("GET", "/tickets", token)
    assert response.status_code == 429 and response.headers["Retry-After"] == date
    assert response.json() == {"error": {"msg": "slow down"}}
    assert "X-Gorgias-Account-Api-Call-Limit" in response.headers


def test_delay_fault_sleeps_then_acts(live_flow: Any) -> None:
    """mode=delay answers normally after at least delay_ms."""
    flow = live_flow
    token = flow.tokens()["access_token"]
    flow.world.add_fault({"path": "/api/account", "mode": "delay", "delay_ms": 300})
    started = time.monotonic()
    response = flow.api("GET", "/account", token)
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


def test_delay_fault_trips_client_read_timeout(live_flow: Any) -> None:
    """A delay longer than the client's read timeout surfaces as httpx.ReadTimeout."""
    flow = live_flow
    token = flow.tokens()["access_token"]
    flow.world.add_fault({"path": "/api/account", "mode": "delay", "delay_ms": 600})
    with pytest.raises(httpx.ReadTimeout):
        flow.http.get(
            "/acme/api/account",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(5.0, read=0.2),
        )


def test_drop_before_is_a_transport_error_and_issues_nothing(live_flow: Any) -> None:
    """mode=drop_before closes the connection unanswered and no token is issued."""
    flow = live_flow
    code = flow.code()
    flow.world.add_fault({"path": "/oauth/token", "mode": "drop_before"})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        flow.exchange(code)
    assert flow.grants() == []
    assert flow.exchange(code).status_code == 200  # the code was never consumed
    assert flow.world.stats()["counters"]["acme"]["fault.drop_before"] == 1


def test_drop_after_is_a_transport_error_but_tokens_were_issued(live_flow: Any) -> None:
    """mode=drop_after rotates the tokens, then closes the connection unanswered."""
    flow = live_flow
    flow.configure(rotate_refresh_tokens=True)
    rt = flow.tokens()["refresh_token"]
    flow.world.add_fault(_refresh_rule(mode="drop_after"))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        flow.refresh(rt)
    (grant,) = flow.grants()
    assert [t["status"] for t in grant["refresh_tokens"]] == ["superseded", "current"]
    retry = flow.refresh(rt)  # the classic lost-response retry: reuse kills the grant
    assert retry.json()["error"] == "invalid_grant"
    assert flow.grants()[0]["status"] == "revoked"


def test_drop_after_code_exchange_then_replay_revokes(live_flow: Any) -> None:
    """After a dropped code exchange a retry is a code replay that revokes the tokens."""
    flow = live_flow
    code = flow.code()
    flow.world.add_fault(
        {"path": "/oauth/token", "mode": "drop_after", "grant_type": "authorization_code"}
    )
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        flow.exchange(code)
    assert flow.grants()[0]["status"] == "active"
    assert flow.exchange(code).json()["error"] == "invalid_grant"
    assert flow.grants()[0]["status"] == "revoked"


def test_redirect_fault(live_flow: Any) -> None:
    """mode=redirect answers 307 to the given location (the client must not follow it)."""
    flow = live_flow
    flow.world.add_fault(
        {"path": "/oauth/token", "mode": "redirect", "location": "https://evil.example/t"}
    )
    response = flow.exchange(flow.code())
    assert response.status_code == 307
    assert response.headers["location"] == "https://evil.example/t"


def test_rule_filters_and_count(live_flow: Any) -> None:
    """Rules match on account, method and grant_type, and stop after count uses."""
    flow = live_flow
    tokens = flow.tokens()
    flow.world.add_fault(_refresh_rule(mode="status", status=500, account="globex"))
    assert flow.refresh(tokens["refresh_token"]).status_code == 200  # other account
    flow.world.add_fault(
        {"path": "/api/*", "mode": "status", "status": 502, "method": "POST", "count": -1}
    )
    assert flow.api("GET", "/account", tokens["access_token"]).status_code == 200
    for _ in range(3):
        assert flow.api("POST", "/tickets", tokens["access_token"], json={}).status_code == 502
    rule = flow.world.faults[1]
    assert rule.hits == 3 and rule.remaining == -1


def test_fault_rules_through_control_api(live: Any) -> None:
    """POST/GET/DELETE /_sandbox/faults manage rules; bad rules are a 400 naming the problems."""
    control = live.control
    rule = control.add_fault(path="/oauth/token", mode="status", status=503, count=2)
    assert rule["id"] == 1 and rule["remaining"] == 2
    assert len(control.faults()) == 1
    with httpx.Client() as http:
        bad = http.post(
            f"{live.url}/_sandbox/faults",
            json={"path": "token", "mode": "explode", "colour": "red"},
        )
    assert bad.status_code == 400
    message = bad.json()["error"]
    assert "colour" in message and "mode" in message and "path" in message
    assert control.clear_faults() == 1 and control.faults() == []


def test_drop_in_process_raises_connection_reset(flow: Any) -> None:
    """Under httpx WSGITransport (no socket) a drop surfaces as ConnectionResetError."""
    code = flow.code()
    flow.world.add_fault({"path": "/oauth/token", "mode": "drop_after"})
    with pytest.raises(ConnectionResetError):
        flow.exchange(code)
    assert len(flow.grants()) == 1
