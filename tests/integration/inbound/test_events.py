"""Issue 11, event handlers over real HTTP: every trigger, JSON and form bodies, dedupe, retries."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.core.inbound_records import EventStatus

from ...conftest import kit_env
from .conftest import ALL_TRIGGERS
from .conftest import FAST
from .conftest import LiveInbound
from .conftest import declarations


def test_every_trigger_reaches_its_handler_once(live: LiveInbound) -> None:
    """Each of Gorgias' seven triggers, fired by the sandbox, runs the event handler once."""
    live.install()
    ticket = live.ticket()
    for trigger in ALL_TRIGGERS:
        live.fire(trigger, ticket)
        live.settle()
    audit = [t for name, t, _ in live.probe.runs if name == "audit"]
    assert sorted(audit) == sorted(ALL_TRIGGERS)
    outcomes = {d["outcome"] for d in live.sandbox.deliveries("acme")}
    assert outcomes == {"ok"}


def test_json_and_form_bodies_carry_the_declared_fields(live: LiveInbound) -> None:
    """A JSON integration and a form-encoded one both hand the handler the rendered fields."""
    live.install()
    created = live.kit.client_for("acme").post(
        "/tickets",
        {
            "subject": "Où est ma commande? a&b=c",
            "customer": {"email": "jane+x@example.com"},
            "messages": [
                {"channel": "email", "via": "email", "from_agent": False, "body_text": "hi"}
            ],
        },
    )
    live.sandbox.wait_for_deliveries(20)
    live.settle()
    seen = {
        name: fields for name, trigger, fields in live.probe.runs if trigger == "ticket-created"
    }
    assert seen["audit"]["subject"] == "Où est ma commande? a&b=c"
    assert seen["audit-form"]["subject"] == "Où est ma commande? a&b=c"
    assert seen["audit-form"]["email"] == "jane+x@example.com"
    assert seen["audit"]["ticket_id"] == seen["audit-form"]["ticket_id"] == str(created["id"])
    form = live.integration("audit-form/ticket-created")
    assert form["http"]["request_content_type"] == "application/x-www-form-urlencoded"


def test_three_deliveries_of_one_event_run_the_handler_once(live: LiveInbound) -> None:
    """Gorgias re-sends an unchanged event three times: one event, one handler run, 3 counted."""
    live.install()
    ticket = live.ticket()
    for _ in range(3):
        live.fire("ticket-message-failed", ticket)  # fires without changing the ticket
    live.settle()
    runs = [t for name, t, _ in live.probe.runs if t == "ticket-message-failed"]
    assert runs == ["ticket-message-failed"]
    calls = [d for d in live.sandbox.deliveries("acme") if d["trigger"] == "ticket-message-failed"]
    assert [d["outcome"] for d in calls] == ["ok", "ok", "ok"]
    (event,) = [
        e for e in live.kit.inbound.latest_events("acme") if e.trigger == calls[0]["trigger"]
    ]
    assert (event.deliveries, event.attempts, event.status.value) == (3, 1, "done")


def test_a_gorgias_retry_after_a_timeout_runs_the_handler_once(live: LiveInbound) -> None:
    """The app's first answer is too slow: Gorgias retries, the event still runs once."""
    live.install()
    live.sandbox.configure(integration_timeout=0.5)
    live.server.wrap = slow_first_answer("/audit/ticket-updated", seconds=1.5)
    ticket = live.fire("ticket-updated")
    live.settle()
    calls = [
        d
        for d in live.sandbox.deliveries("acme")
        if d["trigger"] == "ticket-updated" and "/audit/" in d["url"]
    ]
    assert [(d["attempt"], d["outcome"]) for d in calls] == [(1, "timeout"), (2, "ok")]
    assert [t for name, t, _ in live.probe.runs if name == "audit"] == ["ticket-updated"]
    (event,) = live.kit.inbound.latest_events("acme")
    assert (event.ticket_id, event.deliveries) == (str(ticket), 2)


def test_distinct_events_on_one_ticket_are_not_merged(live: LiveInbound) -> None:
    """Two real changes to the same ticket are two events, each handled."""
    live.install()
    api = live.kit.client_for("acme")
    ticket = live.ticket()
    api.put(f"/tickets/{ticket}", {"subject": "first change"})
    live.sandbox.wait_for_deliveries(20)
    api.put(f"/tickets/{ticket}", {"subject": "second change"})
    live.sandbox.wait_for_deliveries(20)
    live.settle()
    subjects = [f["subject"] for name, t, f in live.probe.runs if t == "ticket-updated"]
    assert sorted(subjects) == ["first change", "second change"]  # order is not promised


def slow_first_answer(path_part: str, *, seconds: float) -> Any:
    """WSGI middleware: the first matching call is handled, then answered ``seconds`` late."""
    state = {"slowed": False}

    def wrap(app: Any) -> Any:
        def middleware(environ: dict[str, Any], start_response: Any) -> Any:
            body = list(app(environ, start_response))
            if path_part in environ["PATH_INFO"] and not state["slowed"]:
                state["slowed"] = True
                time.sleep(seconds)  # the app already recorded the event: Gorgias gives up
            return body

        return middleware

    return wrap


def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds(live: LiveInbound) -> None:
    """Two injected failures, then success: one event, three attempts, done, Gorgias saw 200."""
    live.install()
    live.probe.fail_events = 2
    live.fire("ticket-message-failed")
    live.settle()
    (event,) = live.kit.inbound.latest_events("acme")
    assert (event.status.value, event.attempts) == ("done", 3)
    assert [t for _, t, _ in live.probe.runs] == ["ticket-message-failed"]
    assert [d["outcome"] for d in live.sandbox.deliveries("acme")] == ["ok"]


@pytest.mark.parametrize("inbound_env", [{**FAST, "GORGIAS_EVENT_MAX_ATTEMPTS": "2"}])
def test_a_handler_that_keeps_failing_ends_a_dead_letter_that_can_be_replayed(
    live: LiveInbound,
) -> None:
    """After the last attempt the event is dead (error kept); a replay runs it again, once."""
    live.install()
    live.probe.fail_events = 2
    live.fire("ticket-message-failed")
    live.settle()
    (dead,) = live.kit.inbound.latest_events("acme", status=EventStatus.DEAD)
    assert dead.attempts == 2 and "injected handler failure" in (dead.last_error or "")
    assert live.probe.runs == []
    assert live.kit.inbound.replay(dead.id)
    assert not live.kit.inbound.replay(dead.id)  # no longer dead: nothing to replay
    live.settle()
    (done,) = live.kit.inbound.latest_events("acme")
    assert (done.status.value, done.attempts) == ("done", 1)
    assert [t for _, t, _ in live.probe.runs] == ["ticket-message-failed"]


@pytest.mark.parametrize("inbound_env", [{**FAST, "GORGIAS_QUEUE_URL": "redis://127.0.0.1:1/0"}])
def test_an_event_that_arrives_while_the_queue_is_down_is_not_lost(
    live: LiveInbound, database_url: str, tmp_path: Path
) -> None:
    """The web side cannot reach the queue: Gorgias still gets 200, and the sweep runs it."""
    live.install()
    live.fire("ticket-message-failed")
    assert [d["outcome"] for d in live.sandbox.deliveries("acme")] == ["ok"]
    (event,) = live.kit.inbound.latest_events("acme")
    assert event.status.value == "pending"
    env = {
        **kit_env(live.sandbox.base_url, database_url),
        **FAST,
        "GORGIAS_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        "GORGIAS_ENCRYPTION_KEYS": live.kit.settings.encryption_keys[0].reveal(),
    }
    worker = Kit(KitSettings.from_mapping(env))
    worker.declare(declarations(live.probe))
    consumer = worker.inbound.queue.consumer(threads=1, periodic=False)
    consumer.start()
    try:
        assert worker.inbound.jobs["sweep"]() == 1  # the worker's periodic sweep
        live.settle()
    finally:
        consumer.stop(graceful=True)
        worker.close()
    assert [t for _, t, _ in live.probe.runs] == ["ticket-message-failed"]
