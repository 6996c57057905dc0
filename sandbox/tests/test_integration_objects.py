"""Integration objects and ticket events: trigger spelling, validation, deletion, control route."""

from __future__ import annotations

from typing import Any

import pytest

from gorgias_sandbox import SandboxControlError


@pytest.fixture
def token(flow: Any) -> str:
    """An access token for acme that may write tickets and integrations."""
    access: str = flow.tokens()["access_token"]
    return access


def create(flow: Any, token: str, triggers: Any = None, **extra: Any) -> Any:
    """POST an HTTP integration (with ``triggers`` if given); return the raw response."""
    http: dict[str, Any] = {"url": "http://127.0.0.1:9/hook", "method": "GET", **extra}
    if triggers is not None:
        http["triggers"] = triggers
    return flow.api(
        "POST", "/integrations", token, json={"name": "I", "type": "http", "http": http}
    )


@pytest.mark.parametrize(
    ("spelling", "sent", "returned"),
    [
        ("hyphen", {"ticket_created": True}, {"ticket-created": True}),
        ("hyphen", {"ticket-updated": False}, {"ticket-updated": False}),
        ("underscore", {"ticket-created": True}, {"ticket_created": True}),
        ("both", {"ticket_created": True, "ticket-updated": True}, None),
    ],
)
def test_trigger_spelling_switch(
    flow: Any, token: str, spelling: str, sent: dict[str, bool], returned: Any
) -> None:
    """Either spelling is accepted; the switch decides how the keys are stored and returned."""
    flow.configure(integration_trigger_spelling=spelling)
    response = create(flow, token, sent)
    assert response.status_code == 201
    assert response.json()["http"]["triggers"] == (sent if returned is None else returned)


def test_default_triggers_follow_the_spelling(flow: Any, token: str) -> None:
    """Without triggers an integration listens to created and updated, in the chosen spelling."""
    assert create(flow, token).json()["http"]["triggers"] == {
        "ticket-created": True,
        "ticket-updated": True,
        "ticket-message-created": False,
    }
    flow.configure(integration_trigger_spelling="underscore")
    assert "ticket_created" in create(flow, token).json()["http"]["triggers"]


@pytest.mark.parametrize(
    ("triggers", "problem"),
    [
        ({"ticket-status-updated": True, "ticket-created": True}, "cannot be combined"),
        ({"ticket_assignment_updated": True, "ticket_updated": True}, "cannot be combined"),
        ({"ticket-deleted": True}, "unknown trigger 'ticket-deleted'"),
        ({"ticket-created": "yes"}, "must be a boolean"),
        ({"ticket_created": True, "ticket-created": False}, "given twice"),
        (["ticket-created"], "must be an object"),
    ],
)
def test_bad_triggers_are_a_400_naming_the_problem(
    flow: Any, token: str, triggers: Any, problem: str
) -> None:
    """Unknown or non-boolean triggers and forbidden combinations are refused clearly."""
    response = create(flow, token, triggers)
    assert response.status_code == 400
    assert any(problem in p for p in response.json()["error"]["data"]["http"])


def test_new_style_triggers_may_be_combined_together(flow: Any, token: str) -> None:
    """Assignment and status triggers may be enabled together, and with the others off."""
    triggers = {
        "ticket-assignment-updated": True,
        "ticket-status-updated": True,
        "ticket-created": False,
    }
    assert create(flow, token, triggers).status_code == 201


def test_other_http_fields_are_validated(flow: Any, token: str) -> None:
    """Content types, headers and form must have the documented shapes."""
    response = create(
        flow, token, headers=["x"], request_content_type="text/xml", response_content_type="x"
    )
    problems = " ".join(response.json()["error"]["data"]["http"])
    assert response.status_code == 400
    assert "headers" in problems and "request_content_type" in problems
    assert "response_content_type" in problems


def test_deleting_an_integration_a_widget_uses_is_refused(flow: Any, token: str) -> None:
    """409 while a widget shows the integration, unless integration_delete_with_widgets."""
    hook = create(flow, token).json()
    widget = {"type": "http", "context": "ticket", "integration_id": hook["id"]}
    widget_id = flow.api("POST", "/widgets", token, json=widget).json()["id"]
    refused = flow.api("DELETE", f"/integrations/{hook['id']}", token)
    assert refused.status_code == 409
    assert refused.json()["error"]["msg"] == (
        f"Integration {hook['id']} is used by widget(s) {widget_id}: delete them first."
    )
    flow.configure(integration_delete_with_widgets=True)
    assert flow.api("DELETE", f"/integrations/{hook['id']}", token).status_code == 204
    flow.configure(integration_delete_with_widgets=False)
    other = create(flow, token).json()
    widget["integration_id"] = other["id"]
    other_widget = flow.api("POST", "/widgets", token, json=widget).json()["id"]
    assert flow.api("DELETE", f"/widgets/{other_widget}", token).status_code == 204
    assert flow.api("DELETE", f"/integrations/{other['id']}", token).status_code == 204


def test_fire_event_route(flow: Any, token: str, control: Any) -> None:
    """POST .../tickets/<id>/events fires one trigger and names the integrations called."""
    hook = create(flow, token, {"ticket_self_unsnoozed": True}).json()
    acct = flow.world.accounts["acme"]
    ticket = acct.tickets[0]
    ticket.update(status="closed", snooze_datetime="2030-01-01T00:00:00+00:00")
    result = control.fire_event("acme", ticket["id"], "ticket_self_unsnoozed")
    assert result == {
        "account": "acme",
        "ticket_id": ticket["id"],
        "trigger": "ticket-self-unsnoozed",
        "integration_ids": [hook["id"]],
    }
    assert ticket["snooze_datetime"] is None and ticket["status"] == "open"
    assert control.fire_event("acme", ticket["id"], "ticket-updated")["integration_ids"] == []
    control.wait_for_deliveries(5)
    for args, status in (
        (("acme", ticket["id"], "ticket-exploded"), 400),
        (("acme", 1, "ticket-updated"), 404),
        (("nobody", ticket["id"], "ticket-updated"), 404),
    ):
        with pytest.raises(SandboxControlError) as info:
            control.fire_event(*args)
        assert info.value.status == status


def test_put_ticket_changes_fields_and_validates(flow: Any, token: str) -> None:
    """PUT /api/tickets/<id> updates status, subject, priority, snooze and assignee; bad → 400."""
    ticket = flow.world.accounts["acme"].tickets[0]
    changes = {
        "status": "closed",
        "subject": "Renamed",
        "priority": "high",
        "snooze_datetime": "2030-01-01T10:00:00+00:00",
        "assignee_user": None,
    }
    updated = flow.api("PUT", f"/tickets/{ticket['id']}", token, json=changes).json()
    assert {k: updated[k] for k in changes} == changes and updated["closed_datetime"]
    bad = {
        "status": "pending",
        "priority": "urgent",
        "subject": "",
        "assignee_user": {"id": 1},
        "snooze_datetime": "tomorrow",
    }
    response = flow.api("PUT", f"/tickets/{ticket['id']}", token, json=bad)
    assert response.status_code == 400 and set(response.json()["error"]["data"]) == set(bad)
    assert flow.api("PUT", "/tickets/1", token, json={}).status_code == 404
