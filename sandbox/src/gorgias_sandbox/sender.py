"""Sending one HTTP-integration call and judging the app's answer.

Outcomes: ``ok`` (2xx whose body is JSON), ``timeout`` (no answer within the timeout),
``connect`` (refused or unreachable), ``error:<status>`` (non-2xx), ``error:not_json`` (a 2xx
that is not JSON: Gorgias only takes JSON answers) and ``error:transport`` (anything else
between the sandbox and the app, e.g. a dropped connection or an unusable URL).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from .integrations import Call
from .seed import now_iso


@dataclass(frozen=True)
class Attempt:
    """What one attempt at a call produced."""

    number: int
    outcome: str
    status: int | None
    answer: Any
    started: str
    duration_ms: float


def new_client() -> httpx.Client:
    """The client deliveries share: no redirects followed, no proxy from the environment."""
    # trust_env=False: a developer's HTTP(S)_PROXY must not capture calls to loopback apps.
    return httpx.Client(follow_redirects=False, trust_env=False)


def send(client: httpx.Client, call: Call, number: int, timeout: float) -> Attempt:
    """Send ``call`` once (attempt ``number``) and classify the result."""
    started, clock = now_iso(), time.monotonic()
    status: int | None = None
    answer: Any = None
    try:
        response = client.request(
            call.method, call.url, headers=call.headers, content=call.body, timeout=timeout
        )
    except httpx.TimeoutException:
        outcome = "timeout"
    except httpx.ConnectError:
        outcome = "connect"
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        outcome = "error:transport"
    else:
        status = response.status_code
        outcome, answer = _judge(response)
    duration = round((time.monotonic() - clock) * 1000, 1)
    return Attempt(number, outcome, status, answer, started, duration)


def _judge(response: httpx.Response) -> tuple[str, Any]:
    if not 200 <= response.status_code < 300:
        return f"error:{response.status_code}", None
    try:
        return "ok", response.json()
    except ValueError:
        return "error:not_json", None


def record_of(seq: int, call: Call, attempt: Attempt) -> dict[str, Any]:
    """The delivery record the control API lists (header values masked)."""
    return {
        "id": seq,
        "integration_id": call.integration_id,
        "ticket_id": call.ticket_id,
        "trigger": call.trigger,
        "method": call.method,
        "url": call.url,
        "headers": call.masked_headers(),
        "attempt": attempt.number,
        "outcome": attempt.outcome,
        "status": attempt.status,
        "duration_ms": attempt.duration_ms,
        "started_datetime": attempt.started,
    }
