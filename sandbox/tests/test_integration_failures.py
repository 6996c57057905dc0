"""HTTP-integration failures: timeouts retried once, the failure limit, reactivation, waits."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from gorgias_sandbox import SandboxControlError

MESSAGE = {"channel": "api", "via": "api", "from_agent": False, "body_text": "Hello"}


@pytest.fixture
def token(flow: Any) -> str:
    """An access token for acme that may write tickets and integrations."""
    access: str = flow.tokens()["access_token"]
    return access


@pytest.fixture
def ticket_id(flow: Any) -> int:
    """An existing seeded ticket of acme (events are fired on it through the control API)."""
    first: int = flow.world.accounts["acme"].tickets[0]["id"]
    return first


def integration(flow: Any, token: str, url: str, **http: Any) -> dict[str, Any]:
    """Create an HTTP integration listening to ticket-updated."""
    body = {
        "name": "Stub",
        "type": "http",
        "http": {"url": url, "method": "POST", "triggers": {"ticket-updated": True}, **http},
    }
    response = flow.api("POST", "/integrations", token, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fire(control: Any, ticket_id: int, times: int = 1) -> None:
    """Fire ticket-updated ``times`` times, waiting for the deliveries each time."""
    for _ in range(times):
        control.fire_event("acme", ticket_id, "ticket-updated")
        control.wait_for_deliveries(5)


def outcomes(control: Any) -> list[tuple[int, str]]:
    """(attempt, outcome) of every delivery so far."""
    return [(r["attempt"], r["outcome"]) for r in control.deliveries("acme")]


def test_timeout_is_retried_once_with_the_identical_request(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """A call that times out is sent again, byte for byte; the retry's answer is kept."""
    flow.configure(integration_timeout=0.3)
    stub_app.delay = 0.6
    integration(flow, token, stub_app.url + "/slow-once", form={"id": "{{ticket.id}}"})
    fire(control, ticket_id)
    assert outcomes(control) == [(1, "timeout"), (2, "ok")]
    first, second = stub_app.requests_to("/slow-once")
    assert (first.method, first.path, first.body) == (second.method, second.path, second.body)
    assert first.headers == second.headers
    assert control.answers("acme", ticket_id)[0]["answer"]["body"] == f'{{"id": "{ticket_id}"}}'


def test_a_timeout_twice_counts_two_failures(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """When the retry times out too, both attempts count as failures."""
    flow.configure(integration_timeout=0.2)
    stub_app.delay = 0.4
    hook = integration(flow, token, stub_app.url + "/slow")
    fire(control, ticket_id)
    assert outcomes(control) == [(1, "timeout"), (2, "timeout")]
    (state,) = control.integration_states("acme")
    assert state["integration_id"] == hook["id"] and state["consecutive_failures"] == 2


def test_every_kind_of_failure_counts_and_a_success_resets(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """Refused connections, non-2xx and non-JSON answers are failures; a 2xx JSON resets."""
    hook = integration(flow, token, f"http://127.0.0.1:{closed_port()}/hook")
    fire(control, ticket_id)
    for path in ("/fail", "/text", "/ok"):
        http = {"url": stub_app.url + path, "method": "POST", "triggers": {"ticket-updated": True}}
        assert flow.api("PUT", f"/integrations/{hook['id']}", token, json={"http": http}).is_success
        if path == "/ok":
            assert control.integration_states("acme")[0]["consecutive_failures"] == 3
        fire(control, ticket_id)
    assert outcomes(control) == [(1, "connect"), (1, "error:500"), (1, "error:not_json"), (1, "ok")]
    assert control.integration_states("acme")[0]["consecutive_failures"] == 0
    counters = control.stats()["counters"]["acme"]
    assert counters["integration.delivery"] == 4 and counters["integration.delivery.error"] == 2


def test_failure_limit_deactivates_and_put_reactivates(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """After integration_failure_limit failures in a row the integration stops being called."""
    flow.configure(integration_failure_limit=3)
    hook = integration(flow, token, stub_app.url + "/fail")
    fire(control, ticket_id, times=4)
    assert len(stub_app.requests_to("/fail")) == 3  # the 4th event found it deactivated
    (state,) = control.integration_states("acme")
    assert state["active"] is False and state["consecutive_failures"] == 3
    stored = flow.api("GET", f"/integrations/{hook['id']}", token).json()
    assert stored["deactivated_datetime"] == state["deactivated_datetime"] is not None
    assert control.stats()["counters"]["acme"]["integration.deactivated"] == 1
    renamed = flow.api("PUT", f"/integrations/{hook['id']}", token, json={"name": "Renamed"})
    assert renamed.json()["deactivated_datetime"] is not None  # a PUT without it keeps it
    back = flow.api(
        "PUT", f"/integrations/{hook['id']}", token, json={"deactivated_datetime": None}
    )
    assert back.json()["deactivated_datetime"] is None
    assert control.integration_states("acme")[0]["consecutive_failures"] == 0
    fire(control, ticket_id)
    assert len(stub_app.requests_to("/fail")) == 4


def test_wait_for_deliveries_reports_work_still_running(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """wait_for_deliveries raises (504) while a call is still running, returns once done."""
    flow.configure(integration_timeout=2.0)
    stub_app.delay = 0.4
    integration(flow, token, stub_app.url + "/slow")
    control.fire_event("acme", ticket_id, "ticket-updated")
    with pytest.raises(SandboxControlError) as info:
        control.wait_for_deliveries(0.05)
    assert info.value.status == 504 and info.value.body["pending"] == 1
    control.wait_for_deliveries(5)
    assert outcomes(control) == [(1, "ok")]


def test_reset_forgets_deliveries_answers_and_failures(
    flow: Any, token: str, control: Any, stub_app: Any, ticket_id: int
) -> None:
    """POST /_sandbox/reset clears the delivery log, answers, failure counts and counters."""
    integration(flow, token, stub_app.url + "/ok")
    fire(control, ticket_id)
    assert control.count("acme", "integration.delivery.ok") == 1 and control.answers("acme")
    control.reset()
    assert control.deliveries("acme") == [] and control.answers("acme") == []
    assert control.integration_states("acme") == [] and control.stats() == {"counters": {}}
