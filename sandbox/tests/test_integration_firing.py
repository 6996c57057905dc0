"""HTTP integrations fire on ticket events: templating, payloads, triggers, answers, ordering."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest

MESSAGE = {
    "channel": "email",
    "via": "email",
    "from_agent": False,
    "body_text": "Where is my parcel?",
    "sender": {"email": "jo@example.com", "name": "Jo Doe"},
}


@pytest.fixture
def token(flow: Any) -> str:
    """An access token for acme that may write tickets and integrations."""
    access: str = flow.tokens()["access_token"]
    return access


def integration(flow: Any, token: str, url: str, **http: Any) -> dict[str, Any]:
    """Create an HTTP integration calling ``url`` (GET unless ``method`` says otherwise)."""
    body = {"name": "Stub", "type": "http", "http": {"url": url, "method": "GET", **http}}
    response = flow.api("POST", "/integrations", token, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ticket(flow: Any, token: str, subject: str = "Late order") -> dict[str, Any]:
    """Create a ticket from a customer (fires ticket-created)."""
    response = flow.api("POST", "/tickets", token, json={"subject": subject, "messages": [MESSAGE]})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_created_ticket_fires_with_templated_url_and_app_headers(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """The URL's variables are filled in and URL-encoded; the app's headers are sent as-is."""
    url = stub_app.url + "/ok?t={{ticket.id}}&e={{ticket.customer.email}}&s={{ticket.subject}}"
    hook = integration(flow, token, url, headers={"X-Api-Key": "secret-key-123"})
    created = ticket(flow, token, subject="Where & when?")
    control.wait_for_deliveries(5)
    (seen,) = stub_app.requests_to("/ok")
    assert seen.method == "GET" and seen.body == b""
    assert seen.path == f"/ok?t={created['id']}&e=jo%40example.com&s=Where%20%26%20when%3F"
    assert seen.headers["X-Api-Key"] == "secret-key-123"
    assert seen.headers["User-Agent"].startswith("Gorgias-Sandbox")
    (record,) = control.deliveries("acme")
    assert record["integration_id"] == hook["id"] and record["ticket_id"] == created["id"]
    assert record["trigger"] == "ticket-created" and record["attempt"] == 1
    assert record["outcome"] == "ok" and record["status"] == 200
    assert record["url"] == stub_app.url + seen.path and record["method"] == "GET"
    assert record["headers"] == {"X-Api-Key": "***"} and record["duration_ms"] >= 0
    assert "secret-key-123" not in json.dumps(control.deliveries("acme"))


def test_the_answer_is_stored_per_ticket_and_integration(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """A 2xx JSON answer is kept as the last answer for that ticket and integration."""
    stub_app.answer = {"points": 42}
    hook = integration(flow, token, stub_app.url + "/ok")
    first, second = ticket(flow, token), ticket(flow, token)
    control.wait_for_deliveries(5)
    (answer,) = control.answers("acme", ticket_id=first["id"])
    assert answer["integration_id"] == hook["id"] and answer["answer"] == {"points": 42}
    assert {a["ticket_id"] for a in control.answers("acme")} == {first["id"], second["id"]}


def test_post_without_form_sends_the_ticket_as_json(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """POST with an empty form sends {"ticket": {...}} as JSON (documented assumption)."""
    integration(flow, token, stub_app.url + "/ok", method="POST")
    created = ticket(flow, token)
    control.wait_for_deliveries(5)
    (seen,) = stub_app.requests_to("/ok")
    assert seen.method == "POST" and seen.headers["Content-Type"] == "application/json"
    sent = json.loads(seen.body)["ticket"]
    assert sent["id"] == created["id"] and sent["messages"][0]["body_text"] == MESSAGE["body_text"]


@pytest.mark.parametrize(
    ("content_type", "decode"),
    [
        ("application/json", json.loads),
        (
            "application/x-www-form-urlencoded",
            lambda raw: {k: v[0] for k, v in parse_qs(raw.decode()).items()},
        ),
    ],
)
def test_form_is_rendered_per_content_type(
    flow: Any, token: str, control: Any, stub_app: Any, content_type: str, decode: Any
) -> None:
    """http.form values are templates, sent as JSON or as a urlencoded form."""
    form = {"id": "{{ticket.id}}", "who": "{{ticket.customer.email}}", "note": "a&b"}
    integration(
        flow,
        token,
        stub_app.url + "/ok",
        method="PUT",
        form=form,
        request_content_type=content_type,
    )
    created = ticket(flow, token)
    control.wait_for_deliveries(5)
    (seen,) = stub_app.requests_to("/ok")
    assert seen.method == "PUT" and seen.headers["Content-Type"] == content_type
    assert decode(seen.body) == {"id": str(created["id"]), "who": "jo@example.com", "note": "a&b"}


def test_each_event_fires_only_the_integrations_listening_to_it(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """Messages, status changes, assignments and plain updates reach the matching triggers."""
    ids = {
        "message": integration(
            flow, token, stub_app.url + "/ok/m", triggers={"ticket-message-created": True}
        ),
        "status": integration(
            flow, token, stub_app.url + "/ok/s", triggers={"ticket_status_updated": True}
        ),
        "assign": integration(
            flow, token, stub_app.url + "/ok/a", triggers={"ticket-assignment-updated": True}
        ),
        "default": integration(flow, token, stub_app.url + "/ok/d"),
    }
    tid = ticket(flow, token)["id"]
    agent = flow.world.accounts["acme"].users[2]["id"]
    reply = dict(MESSAGE, body_text="Any news?")
    assert flow.api("POST", f"/tickets/{tid}/messages", token, json=reply).status_code == 201
    assert flow.api("PUT", f"/tickets/{tid}", token, json={"status": "closed"}).status_code == 200
    changed = flow.api("PUT", f"/tickets/{tid}", token, json={"assignee_user": {"id": agent}})
    assert changed.json()["assignee_user"]["id"] == agent
    control.wait_for_deliveries(5)
    fired = [(r["integration_id"], r["trigger"]) for r in control.deliveries("acme")]
    assert sorted(fired) == sorted(
        [
            (ids["default"]["id"], "ticket-created"),
            (ids["message"]["id"], "ticket-message-created"),
            (ids["default"]["id"], "ticket-updated"),
            (ids["status"]["id"], "ticket-status-updated"),
            (ids["default"]["id"], "ticket-updated"),
            (ids["assign"]["id"], "ticket-assignment-updated"),
        ]
    )


def test_deliveries_leave_only_after_the_api_answered(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """With the API's answer held back 300 ms (delay_after), the app is called after it."""
    integration(flow, token, stub_app.url + "/ok")
    flow.world.add_fault({"path": "/api/tickets", "mode": "delay_after", "delay_ms": 300})
    started = time.monotonic()
    ticket(flow, token)
    control.wait_for_deliveries(5)
    (seen,) = stub_app.requests_to("/ok")
    assert seen.at - started >= 0.3


def test_deactivated_integration_is_not_called(
    flow: Any, token: str, control: Any, stub_app: Any
) -> None:
    """An integration created with deactivated_datetime set never fires."""
    body = {
        "name": "Off",
        "type": "http",
        "deactivated_datetime": "2025-01-01T00:00:00+00:00",
        "http": {"url": stub_app.url + "/ok", "method": "GET"},
    }
    assert flow.api("POST", "/integrations", token, json=body).status_code == 201
    ticket(flow, token)
    control.wait_for_deliveries(5)
    assert control.deliveries("acme") == [] and stub_app.seen == []
