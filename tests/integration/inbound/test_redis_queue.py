"""Issue 11 on the Redis tier: the event queue on the Redis a deployment already has."""

from __future__ import annotations

import pytest

from ..api_helpers import redis_url
from .conftest import FAST
from .conftest import LiveInbound


@pytest.fixture
def inbound_env() -> dict[str, str]:
    """The live app's queue on ``TEST_REDIS_URL`` (skipped, or failed in CI, without it)."""
    return {**FAST, "GORGIAS_QUEUE_URL": redis_url()}


def test_events_run_once_through_a_redis_queue(live: LiveInbound) -> None:
    """Dedupe, a failing first attempt and its retry, with Huey on Redis."""
    assert live.kit.inbound.queue.url.startswith("redis://")
    live.install()
    live.probe.fail_events = 1
    ticket = live.ticket()
    for _ in range(2):
        live.fire("ticket-message-failed", ticket)
    live.settle()
    (event,) = live.kit.inbound.latest_events("acme")
    assert (event.status.value, event.attempts, event.deliveries) == ("done", 2, 2)
    assert [t for _, t, _ in live.probe.runs] == ["ticket-message-failed"]
