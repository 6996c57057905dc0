"""Issue 11, without a network: declarations, the widget contract, payloads, the dedupe key."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from huey.registry import Message

from gorgias_appkit import ConfigError
from gorgias_appkit import KitSettings
from gorgias_appkit import Secret
from gorgias_appkit.core.account import Account
from gorgias_appkit.inbound import Integrations
from gorgias_appkit.inbound import card
from gorgias_appkit.inbound import items
from gorgias_appkit.inbound import text
from gorgias_appkit.inbound import wrapper
from gorgias_appkit.inbound.payloads import dedupe_key
from gorgias_appkit.inbound.payloads import integration_payload
from gorgias_appkit.inbound.payloads import parse_body
from gorgias_appkit.inbound.payloads import plan
from gorgias_appkit.inbound.queue import JsonSerializer
from gorgias_appkit.inbound.queue import queue_url

SAMPLE = {"customer": {"tier": "gold"}, "orders": [{"id": "A-1", "lines": [{"sku": "X"}]}]}


def declared(sample: dict[str, object] = SAMPLE) -> Integrations:
    found = Integrations()
    found.data_handler("orders", sample=sample)(lambda call: {})
    found.widget(
        "orders",
        integration="orders",
        template=wrapper(
            card(
                "Orders",
                text("Tier", "customer.tier"),
                items("orders", text("Order", "id"), items("lines", text("SKU", "sku"))),
            )
        ),
    )
    return found


def test_a_widget_whose_paths_are_all_in_the_sample_is_fine() -> None:
    """Nested cards and lists compose their paths the way Gorgias renders them."""
    assert declared().problems() == []


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        ({"orders": []}, "text 'Tier' reads 'customer.tier', which is not in the sample"),
        ({"customer": {"tier": 1}, "orders": []}, "the sample list at 'orders' is empty"),
        (
            {"customer": {"tier": 1}, "orders": {"id": 1}},
            "list '' reads 'orders', which is not a list",
        ),
        (
            {"customer": {"tier": 1}, "orders": [{"id": 1, "lines": [{"qty": 2}]}]},
            "text 'SKU' reads 'orders.0.lines.0.sku', which is not in the sample",
        ),
    ],
)
def test_a_path_missing_from_the_sample_is_named(sample: dict[str, object], problem: str) -> None:
    """The widget contract: every missing path is reported with where the widget reads it."""
    assert any(problem in p for p in declared(sample).problems()), declared(sample).problems()


def test_bad_declarations_are_all_reported_at_once() -> None:
    """Names, triggers, exclusive triggers, content types, reserved fields and kinds."""
    found = Integrations()
    found.data_handler(
        "Bad Name", sample={}, triggers=("ticket-created", "ticket_status_updated", "nope")
    )(lambda call: {})
    found.event_handler("audit-xml", triggers=("ticket_created",), content_type="text/xml")(print)
    found.event_handler("audit", triggers=("ticket_created",))(print)
    found.event_handler("audit", triggers=("ticket-created",), fields={"ticket_id": "x"})(print)
    found.widget("side", integration="audit", template=card("x"))
    problems = "\n".join(found.problems())
    for expected in (
        "integration 'Bad Name': the name must be lowercase",
        "unknown trigger(s) nope",
        "does not combine ticket-assignment-updated or ticket-status-updated",
        "content_type must be",
        "field 'ticket_id' is not allowed",
        "integration 'audit' is declared twice",
        "shows integration 'audit', which is an event integration",
        "the template's root must be a wrapper",
    ):
        assert expected in problems


def test_event_integrations_become_one_gorgias_integration_per_trigger() -> None:
    """Underscore spellings are accepted; each trigger gets its own URL and integration."""
    found = Integrations()
    found.event_handler(
        "audit",
        triggers=("ticket_created", "ticket-status-updated"),
        fields={"email": "{{ticket.customer.email}}"},
        content_type="application/x-www-form-urlencoded",
    )(print)
    planned = plan(found)
    assert [p.ledger_name for p in planned] == [
        "integration:audit:ticket-created",
        "integration:audit:ticket-status-updated",
    ]
    payload = integration_payload(
        planned[1], account=Account("acme"), app_url="https://app.example", key=Secret("k" * 43)
    )
    http = payload["http"]
    assert http["url"] == "https://app.example/gorgias/inbound/acme/audit/ticket-status-updated"
    assert http["triggers"] == {"ticket-status-updated": True}
    assert http["headers"] == {"X-Appkit-Key": "k" * 43}
    assert http["form"] == {
        "email": "{{ticket.customer.email}}",
        "ticket_id": "{{ticket.id}}",
        "ticket_updated": "{{ticket.updated_datetime}}",
    }
    assert http["request_content_type"] == "application/x-www-form-urlencoded"


def test_the_dedupe_key_is_what_a_retry_repeats_and_a_new_event_changes() -> None:
    """Same ticket state: same key; another state, trigger, integration or account: another."""
    body = {"ticket_id": "7", "ticket_updated": "2025-06-01T10:00:00.1+00:00", "x": "1"}
    key = dedupe_key("acme", "audit", "ticket-updated", body)
    assert key == dedupe_key("acme", "audit", "ticket-updated", {**body, "x": "1"})
    others = [
        dedupe_key("acme", "audit", "ticket-updated", {**body, "ticket_updated": "later"}),
        dedupe_key("acme", "audit", "ticket-created", body),
        dedupe_key("acme", "other", "ticket-updated", body),
        dedupe_key("globex", "audit", "ticket-updated", body),
        dedupe_key("acme", "audit", "ticket-updated", {**body, "ticket_id": "8"}),
    ]
    assert key not in others and len(set(others)) == len(others)
    empty = {"ticket_id": "7", "ticket_updated": ""}
    assert dedupe_key("acme", "a", "t", {**empty, "y": 1}) != dedupe_key(
        "acme", "a", "t", {**empty, "y": 2}
    )  # no updated_datetime: the whole body identifies the event


def test_bodies_are_parsed_as_json_objects_or_forms_and_nothing_else() -> None:
    """JSON objects and urlencoded forms parse; a JSON list or broken bytes are refused."""
    assert parse_body(b'{"a": 1}', "application/json") == {"a": 1}
    form = "application/x-www-form-urlencoded; charset=utf-8"
    assert parse_body(b"a=1&b=%C3%A9", form) == {"a": "1", "b": "é"}
    assert parse_body(b"", "application/json") == {}
    for raw, kind in ((b"[1]", "application/json"), (b"{", "application/json"), (b"a", form)):
        with pytest.raises(ValueError):
            parse_body(raw, kind)


def test_the_queue_serializer_carries_json_only_never_pickle() -> None:
    """Huey messages round-trip through JSON; an object it cannot name is refused."""
    serializer = JsonSerializer()
    eta = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    message = Message("id-1", "run_event", eta, 3, 0, None, (42,), {}, None, None)
    raw = serializer.serialize(message)
    assert b"pickle" not in raw and raw.startswith(b"{")
    back = serializer.deserialize(raw)
    assert back.name == "run_event" and back.eta == eta and list(back.args) == [42]
    with pytest.raises(TypeError):
        serializer.serialize(Message("id", "x", None, 0, 0, None, (object(),), {}))


def settings(**extra: str) -> KitSettings:
    base = {
        "GORGIAS_CLIENT_ID": "c",
        "GORGIAS_CLIENT_SECRET": "s",
        "GORGIAS_APP_URL": "https://app.example",
        "GORGIAS_DATABASE_URL": "sqlite:////srv/app/app.sqlite3",
        "GORGIAS_ENCRYPTION_KEYS": "A" * 43 + "=",
    }
    return KitSettings.from_mapping({**base, **extra})


def test_the_queue_lives_beside_the_database_unless_told_otherwise() -> None:
    """A SQLite file beside the database, else the app's PostgreSQL or Redis; the setting wins."""
    assert queue_url(settings()) == "sqlite:////srv/app/app-queue.sqlite3"
    pg = settings(GORGIAS_DATABASE_URL="postgresql+psycopg://u@db/app?sslmode=require")
    assert queue_url(pg) == "postgresql://u@db/app?sslmode=require"
    assert queue_url(settings(GORGIAS_REDIS_URL="redis://cache:6379/2")) == "redis://cache:6379/2"
    assert queue_url(settings(GORGIAS_QUEUE_URL="memory://")) == "memory://"
    with pytest.raises(ConfigError, match="GORGIAS_QUEUE_URL must start with"):
        settings(GORGIAS_QUEUE_URL="amqp://rabbit")
    with pytest.raises(ConfigError, match="GORGIAS_INBOUND_DEADLINE must be at most 60"):
        settings(GORGIAS_INBOUND_DEADLINE="90")
