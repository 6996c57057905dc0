"""REST API: auth and scopes, object shapes, pagination, writes, error shapes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gorgias_sandbox import tokens as sandbox_tokens

MESSAGE = {
    "channel": "api",
    "via": "api",
    "from_agent": False,
    "body_text": "Where is it?",
    "sender": {"email": "new.person@mail.example.org"},
}


@pytest.fixture
def token(flow: Any) -> str:
    """An access token for acme with the full test scope."""
    access: str = flow.tokens()["access_token"]
    return access


def _jwt(flow: Any, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "http://sandbox.test/acme",
        "sub": 100,
        "aud": flow.CLIENT_ID,
        "iat": now,
        "exp": now + 60,
        "jti": "hand-made",
        "scope": "account:read",
        "account": "acme",
        "client_id": flow.CLIENT_ID,
    }
    claims.update(overrides)
    return sandbox_tokens.sign_rs256(claims)


def test_account_is_a_single_object(flow: Any, token: str) -> None:
    """GET /api/account returns the Gorgias Account object, not a list."""
    response = flow.api("GET", "/account", token)
    body = response.json()
    assert response.status_code == 200
    assert body["domain"] == "acme" and body["name"] == "Acme Inc"
    assert body["status"] == {"status": "active"} and body["created_datetime"].startswith("20")
    assert "data" not in body


def test_unauthenticated_requests_get_401_body(flow: Any, token: str) -> None:
    """Missing, malformed, query-string and foreign tokens all get 401 Unauthorized."""
    cases = [
        flow.api("GET", "/account", None),
        flow.api("GET", "/account", "garbage"),
        flow.api("GET", "/account", None, params={"access_token": token}),
        flow.api("GET", "/account", token, params={"access_token": token}),
        flow.api("GET", "/account", token, account="globex"),
        flow.http.get("/acme/api/account", headers={"Authorization": f"Basic {token}"}),
    ]
    for response in cases:
        assert response.status_code == 401
        assert response.json() == {"error": {"msg": "Unauthorized"}}


def test_expiry_has_a_15_second_leeway(flow: Any) -> None:
    """A JWT expired 10 s ago is accepted, one expired 20 s ago is not."""
    now = int(time.time())
    assert flow.api("GET", "/account", _jwt(flow, exp=now - 10)).status_code == 200
    assert flow.api("GET", "/account", _jwt(flow, exp=now - 20)).status_code == 401


def test_tokens_signed_elsewhere_are_refused(flow: Any) -> None:
    """A JWT signed by another key, or wrongly addressed, is 401."""
    rogue = sandbox_tokens.sign_rs256(
        {
            "sub": 1,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "account": "acme",
            "scope": "account:read",
        },
        sandbox_tokens.rogue_key(),
    )
    assert flow.api("GET", "/account", rogue).status_code == 401
    assert flow.api("GET", "/account", _jwt(flow, account="globex")).status_code == 401


def test_missing_scope_gets_403(flow: Any) -> None:
    """Reads need <resource>:read and writes <resource>:write, else 403."""
    token = flow.tokens(scope="offline tickets:read")["access_token"]
    assert flow.api("GET", "/tickets", token).status_code == 200
    assert flow.api("GET", "/account", token).status_code == 403
    assert flow.api("GET", "/widgets", token).status_code == 403
    response = flow.api("POST", "/tickets", token, json={"messages": [MESSAGE]})
    assert response.status_code == 403 and "tickets:write" in response.json()["error"]["msg"]
    legacy = flow.tokens(scope="write:all")["access_token"]
    assert flow.api("GET", "/account", legacy).status_code == 200


def test_users_are_agents_with_roles(flow: Any, token: str) -> None:
    """GET /api/users lists the account's agents, each with role{name}, sorted by name."""
    body = flow.api("GET", "/users", token).json()
    assert body["object"] == "list" and body["uri"] == "/api/users"
    assert 6 <= len(body["data"]) <= 10
    names = [u["name"] for u in body["data"]]
    assert names == sorted(names)
    assert all(isinstance(u["id"], int) and u["role"]["name"] for u in body["data"])


def test_ticket_pagination_walks_every_ticket_once(flow: Any, token: str) -> None:
    """Following next_cursor visits each ticket exactly once; the last page has none."""
    total = len(flow.world.accounts["acme"].tickets)
    assert 60 <= total <= 250
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = flow.api("GET", "/tickets", token, params=params).json()
        assert (body["meta"]["prev_cursor"] is None) == (pages == 0)
        seen += [t["id"] for t in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    created = [t["created_datetime"] for t in flow.world.accounts["acme"].tickets]
    assert pages == -(-total // 100) and len(created) == total


def test_default_limit_and_prev_cursor(flow: Any, token: str) -> None:
    """The default page is 30 items; prev_cursor of page 2 leads back to page 1."""
    first = flow.api("GET", "/tickets", token).json()
    assert len(first["data"]) == 30
    second = flow.api(
        "GET", "/tickets", token, params={"cursor": first["meta"]["next_cursor"]}
    ).json()
    back = flow.api(
        "GET", "/tickets", token, params={"cursor": second["meta"]["prev_cursor"]}
    ).json()
    assert [t["id"] for t in back["data"]] == [t["id"] for t in first["data"]]
    dates = [t["created_datetime"] for t in first["data"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"order_by": "name:up"},
    ],
)
def test_bad_pagination_parameters_get_400(flow: Any, token: str, params: dict[str, Any]) -> None:
    """limit outside 1..100, a forged cursor or a bad order_by is a 400."""
    response = flow.api("GET", "/tickets", token, params=params)
    assert response.status_code == 400 and response.json()["error"]["msg"]


def test_cursor_of_one_list_is_refused_by_another(flow: Any, token: str) -> None:
    """A cursor is bound to the list it came from."""
    cursor = flow.api("GET", "/customers", token).json()["meta"]["next_cursor"]
    assert flow.api("GET", "/tickets", token, params={"cursor": cursor}).status_code == 400


def test_order_by_is_accepted(flow: Any, token: str) -> None:
    """order_by=created_datetime:asc returns the oldest tickets first."""
    body = flow.api("GET", "/tickets", token, params={"order_by": "created_datetime:asc"}).json()
    dates = [t["created_datetime"] for t in body["data"]]
    assert dates == sorted(dates)


def test_create_ticket_with_first_message(flow: Any, token: str) -> None:
    """POST /api/tickets creates a ticket with its message and answers 201."""
    response = flow.api(
        "POST", "/tickets", token, json={"subject": "Help", "channel": "api", "messages": [MESSAGE]}
    )
    assert response.status_code == 201
    ticket = response.json()
    assert isinstance(ticket["id"], int) and ticket["uri"] == f"/api/tickets/{ticket['id']}/"
    assert ticket["status"] == "open" and ticket["messages"][0]["body_text"] == "Where is it?"
    assert ticket["customer"]["email"] == "new.person@mail.example.org"
    fetched = flow.api("GET", f"/tickets/{ticket['id']}", token).json()
    assert fetched["subject"] == "Help" and len(fetched["messages"]) == 1


def test_create_ticket_validation_error_shape(flow: Any, token: str) -> None:
    """A ticket without valid messages is a 400 with Gorgias' error object."""
    empty = flow.api("POST", "/tickets", token, json={"messages": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["msg"] == "Failed to create ticket"
    assert empty.json()["error"]["data"]["messages"]
    bad = flow.api("POST", "/tickets", token, json={"messages": [{"channel": "api"}]})
    problems = bad.json()["error"]["data"]["messages"]
    assert any("via" in p for p in problems) and any("from_agent" in p for p in problems)


def test_add_message_to_ticket(flow: Any, token: str) -> None:
    """POST /api/tickets/<id>/messages adds a message (201) and 404s on unknown tickets."""
    ticket_id = flow.world.accounts["acme"].tickets[0]["id"]
    reply = {"channel": "email", "via": "api", "from_agent": True, "body_html": "<p>Done</p>"}
    response = flow.api("POST", f"/tickets/{ticket_id}/messages", token, json=reply)
    assert response.status_code == 201 and response.json()["ticket_id"] == ticket_id
    assert response.json()["sender"]["id"]  # the token's user
    assert flow.api("POST", "/tickets/1/messages", token, json=reply).status_code == 404
    listed = flow.api("GET", f"/tickets/{ticket_id}/messages", token).json()
    assert listed["data"][-1]["id"] == response.json()["id"]


def test_integration_and_widget_lifecycle(flow: Any, token: str) -> None:
    """Integrations and widgets can be created, read, replaced and deleted (204)."""
    integration = flow.api(
        "POST",
        "/integrations",
        token,
        json={
            "name": "My app",
            "type": "http",
            "http": {"url": "https://app.example/hook", "method": "POST"},
        },
    )
    assert integration.status_code == 201
    iid = integration.json()["id"]
    widget = flow.api(
        "POST",
        "/widgets",
        token,
        json={
            "type": "http",
            "context": "ticket",
            "integration_id": iid,
            "template": {},
            "order": 1,
        },
    )
    assert widget.status_code == 201
    wid = widget.json()["id"]
    objects = flow.http.get("/_sandbox/accounts/acme/objects").json()
    assert [o["id"] for o in objects["integrations"]] == [iid]
    assert [o["id"] for o in objects["widgets"]] == [wid]
    put = flow.api("PUT", f"/integrations/{iid}", token, json={"name": "Renamed"})
    assert put.json()["name"] == "Renamed" and put.json()["http"]["method"] == "POST"
    assert flow.api("GET", "/integrations", token).json()["data"][0]["name"] == "Renamed"
    for path in (f"/widgets/{wid}", f"/integrations/{iid}"):
        deleted = flow.api("DELETE", path, token)
        assert deleted.status_code == 204 and deleted.content == b""
        assert flow.api("GET", path, token).status_code == 404
    assert flow.http.get("/_sandbox/accounts/acme/objects").json() == {
        "integrations": [],
        "widgets": [],
    }


def test_only_http_integrations_can_be_created(flow: Any, token: str) -> None:
    """type must be http and http.url/method valid, else 400 with per-field data."""
    response = flow.api(
        "POST",
        "/integrations",
        token,
        json={"name": "x", "type": "shopify", "http": {"url": "ftp://x"}},
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["data"]) == {"type", "http"}
    widget = flow.api(
        "POST", "/widgets", token, json={"type": "http", "context": "sidebar", "integration_id": 99}
    )
    assert set(widget.json()["error"]["data"]) == {"context", "integration_id"}


def test_string_error_body_shape(flow: Any, token: str) -> None:
    """error_body_shape=string answers errors as {"error": "..."}."""
    flow.configure(error_body_shape="string")
    assert flow.api("GET", "/account", None).json() == {"error": "Unauthorized"}
    assert flow.api("GET", "/tickets", token, params={"limit": 500}).json()["error"]


def test_unknown_routes_and_accounts(flow: Any, token: str) -> None:
    """Unknown API paths are 404 JSON; unknown accounts are 404 account not found."""
    assert flow.api("GET", "/nothing/here", token).status_code == 404
    missing = flow.api("GET", "/account", token, account="nobody")
    assert missing.status_code == 404 and missing.json() == {"error": "account not found"}


def test_api_calls_are_counted_per_route(flow: Any, token: str) -> None:
    """API counters are named api.<METHOD> <route> with ids normalised."""
    flow.api("GET", "/tickets", token)
    flow.api("GET", f"/tickets/{flow.world.accounts['acme'].tickets[0]['id']}", token)
    flow.api("GET", "/tickets/", token)
    counters = flow.world.stats()["counters"]["acme"]
    assert counters["api.GET /api/tickets"] == 2
    assert counters["api.GET /api/tickets/<id>"] == 1


def test_seed_is_deterministic_and_believable(flow: Any) -> None:
    """Each account's data is the same every time and looks like a helpdesk."""
    from gorgias_sandbox.seed import seed_account

    first, again = seed_account("acme"), seed_account("acme")
    assert first == again and seed_account("globex") != first
    statuses = {t["status"] for t in first["tickets"]}
    assert statuses == {"open", "closed"}
    assert 110 <= len(first["customers"]) <= 130
    assert all(t["subject"] and t["customer"]["email"] for t in first["tickets"])
