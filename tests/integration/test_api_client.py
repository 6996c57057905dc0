"""Issue 4: the API client against the sandbox over real HTTP (paging, errors, retries, auth)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator

import pytest

from gorgias_appkit import Kit
from gorgias_appkit import RateLimited
from gorgias_appkit.api.models import Customer
from gorgias_appkit.api.models import Integration
from gorgias_appkit.api.models import Ticket
from gorgias_appkit.api.models import User
from gorgias_appkit.api.resources import message
from gorgias_appkit.core.records import InstallStatus
from gorgias_appkit.errors import ApiError
from gorgias_appkit.errors import BadRequest
from gorgias_appkit.errors import Conflict
from gorgias_appkit.errors import Forbidden
from gorgias_appkit.errors import GorgiasUnreachable
from gorgias_appkit.errors import NotFound
from gorgias_appkit.errors import OutcomeUnknown
from gorgias_appkit.errors import PayloadTooLarge
from gorgias_appkit.errors import ServerError
from gorgias_appkit.errors import Unauthorized
from gorgias_appkit.metrics import METRICS
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .api_helpers import install
from .api_helpers import make_kit

FAST = {"GORGIAS_RATE_LIMIT": "100", "GORGIAS_RATE_WINDOW": "1"}


@pytest.fixture
def kit(sandbox: SandboxControl, sqlite_url: str) -> Iterator[Kit]:
    """A kit installed into acme; the sandbox allows 100 requests per second."""
    sandbox.configure(rate_limit=100, rate_window=1)
    kit = make_kit(kit_env(sandbox.base_url, sqlite_url, **FAST))
    install(kit, sandbox)
    yield kit
    kit.close()


def gets(sandbox: SandboxControl, route: str) -> int:
    return sandbox.count("acme", f"api.GET {route}")


def test_pagination_reads_every_page_lazily(kit: Kit, sandbox: SandboxControl) -> None:
    """Lists follow meta.next_cursor page by page, fetching a page only when it is reached."""
    customers = kit.client_for("acme").customers.list(limit=50)
    first = next(customers)
    assert gets(sandbox, "/api/customers") == 1
    rest = list(customers)
    everyone = [first, *rest]
    assert len(everyone) > 100
    assert gets(sandbox, "/api/customers") == math.ceil(len(everyone) / 50)
    assert len({c.id for c in everyone}) == len(everyone)
    assert isinstance(first, Customer)
    assert first["email"] == first.email and dict(first)["id"] == first.id


ERRORS = [
    (400, BadRequest),
    (401, Unauthorized),
    (403, Forbidden),
    (404, NotFound),
    (409, Conflict),
    (413, PayloadTooLarge),
    (429, RateLimited),
    (500, ServerError),
    (503, ServerError),
]


@pytest.mark.parametrize("shape", ["object", "string"])
@pytest.mark.parametrize(("status", "error"), ERRORS)
def test_each_error_status_is_typed(
    kit: Kit, sandbox: SandboxControl, status: int, error: type[ApiError], shape: str
) -> None:
    """Every documented status maps to its error, from either body shape, with no token in it."""
    body: object = {"error": "It went wrong"}
    if shape == "object":
        body = {"error": {"msg": "It went wrong", "data": {"email": ["already used"]}}}
    sandbox.add_fault(
        path="/api/tickets/*", mode="status", status=status, body=body, retry_after=0, count=-1
    )
    token = kit.access_token_for("acme")
    with pytest.raises(error) as info:
        kit.client_for("acme").tickets.get(20_001)
    raised = info.value
    assert raised.status_code == status
    assert raised.account == "acme"
    if status != 429 and status != 401:
        assert "It went wrong" in str(raised)
        assert raised.data == ({"email": ["already used"]} if shape == "object" else None)
    assert token not in str(raised) and token not in repr(raised)


@pytest.mark.parametrize("shape", ["object", "string"])
def test_the_sandbox_own_404_is_parsed_in_both_shapes(
    kit: Kit, sandbox: SandboxControl, shape: str
) -> None:
    """An unknown id gives NotFound whichever error body shape the API uses."""
    sandbox.configure(error_body_shape=shape)
    with pytest.raises(NotFound, match="Resource not found"):
        kit.client_for("acme").widgets.get(424242)


def test_retry_after_is_honoured(kit: Kit, sandbox: SandboxControl) -> None:
    """REL-11: a GET answered 429 with Retry-after: 1 is sent again no sooner than 1 s later."""
    sandbox.add_fault(path="/api/account", mode="status", status=429, retry_after=1, count=1)
    before = METRICS.value("gorgias_api_429_total", account="acme")
    sent = gets(sandbox, "/api/account")
    started = time.monotonic()
    assert kit.client_for("acme").get_account().domain == "acme"
    assert time.monotonic() - started >= 1.0
    assert gets(sandbox, "/api/account") == sent + 2
    assert METRICS.value("gorgias_api_429_total", account="acme") == before + 1


def test_get_is_retried_after_5xx_and_dropped_connections(
    kit: Kit, sandbox: SandboxControl
) -> None:
    """REL-11: idempotent requests survive two 502s and a connection closed before answering."""
    sandbox.add_fault(path="/api/users", mode="status", status=502, retry_after=0, count=2)
    sandbox.add_fault(path="/api/users", mode="drop_before", count=1)
    users = list(kit.client_for("acme").users.list())
    assert users and all(isinstance(u, User) for u in users)
    assert gets(sandbox, "/api/users") == 4


def test_retries_stop_at_the_deadline(kit: Kit, sandbox: SandboxControl) -> None:
    """A server that keeps failing gives ServerError once the call's deadline is spent."""
    sandbox.add_fault(path="/api/account", mode="status", status=503, retry_after=1, count=-1)
    sent = gets(sandbox, "/api/account")
    started = time.monotonic()
    with pytest.raises(ServerError):
        kit.client_for("acme").get("/account", deadline=1.5)
    assert time.monotonic() - started < 1.5
    assert gets(sandbox, "/api/account") == sent + 2


def test_post_whose_connection_drops_is_not_retried(kit: Kit, sandbox: SandboxControl) -> None:
    """REL-11: a POST that may have happened raises OutcomeUnknown and is sent exactly once."""
    sandbox.add_fault(path="/api/tickets", method="POST", mode="drop_after", count=1)
    with pytest.raises(OutcomeUnknown) as info:
        kit.client_for("acme").tickets.create(
            message=message("Hello", sender_email="jo@example.com"), subject="Dropped"
        )
    assert info.value.account == "acme"
    assert sandbox.count("acme", "api.POST /api/tickets") == 1
    created = [t for t in kit.client_for("acme").tickets.list() if t.subject == "Dropped"]
    assert len(created) == 1  # it did happen: retrying would have made a duplicate


def test_post_answered_5xx_is_not_retried(kit: Kit, sandbox: SandboxControl) -> None:
    """A POST answered 503 raises ServerError after one attempt."""
    sandbox.add_fault(
        path="/api/integrations", method="POST", mode="status", status=503, retry_after=0, count=1
    )
    with pytest.raises(ServerError):
        kit.client_for("acme").integrations.create(
            {"name": "x", "type": "http", "http": {"url": "https://a.example/h", "method": "POST"}}
        )
    assert sandbox.count("acme", "api.POST /api/integrations") == 1


def test_unreachable_api_is_a_typed_error(kit: Kit, sandbox: SandboxControl) -> None:
    """Connections dropped on every attempt end in GorgiasUnreachable, not an httpx error."""
    sandbox.add_fault(path="/api/account", mode="drop_before", count=-1)
    with pytest.raises(GorgiasUnreachable):
        kit.client_for("acme").get("/account", deadline=1.0)


def test_a_401_leads_to_exactly_one_refresh(kit: Kit, sandbox: SandboxControl) -> None:
    """REL-07: one 401 triggers one forced refresh and one retry, which succeeds."""
    refreshes = sandbox.count("acme", "oauth.token.refresh_token")
    old = kit.access_token_for("acme")
    sent = gets(sandbox, "/api/account")
    sandbox.add_fault(path="/api/account", mode="status", status=401, count=1)
    assert kit.client_for("acme").get_account().domain == "acme"
    assert sandbox.count("acme", "oauth.token.refresh_token") == refreshes + 1
    assert gets(sandbox, "/api/account") == sent + 2
    assert kit.access_token_for("acme") != old


def test_a_401_after_the_refresh_marks_the_installation(kit: Kit, sandbox: SandboxControl) -> None:
    """REL-07: a fresh token refused again raises Unauthorized after exactly one refresh.

    Issue 11: Gorgias refusing a token it issued a moment ago means the app was removed there,
    so the installation is ``uninstalled`` (an inferred uninstall), its dead tokens dropped.
    """
    refreshes = sandbox.count("acme", "oauth.token.refresh_token")
    sent = gets(sandbox, "/api/account")
    sandbox.add_fault(path="/api/account", mode="status", status=401, count=-1)
    with pytest.raises(Unauthorized):
        kit.client_for("acme").get_account()
    assert sandbox.count("acme", "oauth.token.refresh_token") == refreshes + 1
    assert gets(sandbox, "/api/account") == sent + 2
    installation = kit.installation("acme")
    assert installation is not None and installation.status is InstallStatus.UNINSTALLED
    assert installation.tokens is None


def test_resource_helpers_cover_what_an_app_uses(kit: Kit, sandbox: SandboxControl) -> None:
    """Tickets with messages, users, customers, integrations and widgets, as typed records."""
    client = kit.client_for("acme")
    first = message("My order is late", sender_email="jo@example.com")
    ticket = client.tickets.create(message=first, subject="Late order", channel="api")
    assert isinstance(ticket, Ticket) and ticket.subject == "Late order"
    reply = client.tickets.add_message(
        ticket.id or 0, message("Any news?", sender_email="jo@example.com")
    )
    assert reply.ticket_id == ticket.id and reply.from_agent is False
    again = client.tickets.get(ticket.id or 0)
    assert again.messages_count == 2 and again.created_datetime is not None
    assert again.created_datetime.tzinfo is not None
    assert [m.body_text for m in client.tickets.messages(ticket.id or 0)] == [
        "My order is late",
        "Any news?",
    ]
    assert next(client.customers.list(email="jo@example.com")).email == "jo@example.com"
    integration = client.integrations.create(
        {
            "name": "Loyalty",
            "type": "http",
            "http": {"url": "https://app.example.com/hook", "method": "POST"},
        }
    )
    assert isinstance(integration, Integration) and integration.url.endswith("/hook")
    widget = client.widgets.create(
        {"type": "custom", "context": "ticket", "integration_id": integration.id}
    )
    renamed = client.integrations.update(integration.id or 0, {"name": "Loyalty points"})
    assert renamed.name == client.integrations.get(integration.id or 0).name == "Loyalty points"
    assert [w.integration_id for w in client.widgets.list()] == [integration.id]
    client.widgets.delete(widget.id or 0)
    client.integrations.delete(integration.id or 0)
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}


def test_no_token_in_logs_errors_or_reprs(
    kit: Kit, sandbox: SandboxControl, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-13: retries, refreshes and errors log and say nothing that contains a token."""
    caplog.set_level(logging.DEBUG, logger="gorgias_appkit")
    old = kit.access_token_for("acme")
    sandbox.add_fault(path="/api/account", mode="status", status=401, count=1)
    sandbox.add_fault(path="/api/users", mode="status", status=503, retry_after=0, count=1)
    client = kit.client_for("acme")
    client.get_account()
    list(client.users.list())
    with pytest.raises(NotFound) as info:
        client.tickets.get(1)
    new = kit.access_token_for("acme")
    assert "API retry" in caplog.text
    for token in (old, new):
        for text in (caplog.text, repr(client), str(info.value), repr(kit.budget)):
            assert token not in text


def test_post_refused_with_429_is_sent_again(kit: Kit, sandbox: SandboxControl) -> None:
    """A 429 means Gorgias refused the POST before acting, so it is retried after Retry-after."""
    sandbox.add_fault(
        path="/api/tickets", method="POST", mode="status", status=429, retry_after=0, count=1
    )
    ticket = kit.client_for("acme").tickets.create(
        message=message("Hello", sender_email="jo@example.com"), subject="Retried"
    )
    assert ticket.subject == "Retried"
    assert sandbox.count("acme", "api.POST /api/tickets") == 2
    assert len([t for t in kit.client_for("acme").tickets.list() if t.subject == "Retried"]) == 1
