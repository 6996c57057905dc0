"""A partner-style app on a real socket, the sandbox firing at it, and a worker in a thread.

``inbound`` builds a Flask app with :class:`GorgiasKit` and the test's own declarations
(``Probe``: handlers that remember what they saw), serves it on an ephemeral loopback port,
starts a Huey consumer (two threads) on the kit's queue, and installs ``acme`` through the
sandbox like a browser. Everything Gorgias does (templating, retries, deactivation) is the
sandbox's, over real HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from gorgias_appkit import Kit
from gorgias_appkit.cli.servers import ThreadedServer
from gorgias_appkit.inbound import DataCall
from gorgias_appkit.inbound import EventCall
from gorgias_appkit.inbound import Integrations
from gorgias_appkit.inbound import card
from gorgias_appkit.inbound import items
from gorgias_appkit.inbound import text
from gorgias_appkit.inbound import wrapper
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_appkit.web import GorgiasKit
from gorgias_appkit.web.operator import init_operator
from gorgias_sandbox import SandboxControl

from ...conftest import kit_env

ALL_TRIGGERS = (
    "ticket-created",
    "ticket-updated",
    "ticket-message-created",
    "ticket-self-unsnoozed",
    "ticket-message-failed",
    "ticket-assignment-updated",
    "ticket-status-updated",
)
SAMPLE = {"ticket": "1", "subject": "x", "tags": [{"name": "vip"}]}


@dataclass
class Probe:
    """What the test app's handlers saw, and how they should behave next."""

    runs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    fail_events: int = 0  # the next N event runs raise
    fail_answers: bool = False
    slow_answer: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def triggers(self) -> list[str]:
        with self.lock:
            return [trigger for _, trigger, _ in self.runs]


def declarations(probe: Probe) -> Integrations:
    """A data integration with a widget, and event integrations on every trigger, JSON and form."""
    declared = Integrations()

    @declared.data_handler(
        "summary",
        sample=SAMPLE,
        fields={"subject": "{{ticket.subject}}"},
        triggers=("ticket-created", "ticket-updated", "ticket-message-created"),
    )
    def summary(call: DataCall) -> dict[str, Any]:
        if probe.fail_answers:
            raise RuntimeError("the handler is broken")
        if probe.slow_answer:
            time.sleep(probe.slow_answer)
        answer = {"ticket": call.ticket_id, "subject": call.fields.get("subject"), "tags": []}
        with probe.lock:
            probe.answers.append(answer)
        return answer

    declared.widget(
        "summary",
        integration="summary",
        template=wrapper(
            card("Summary", text("Ticket", "ticket"), items("tags", text("Tag", "name")))
        ),
    )

    def remember(call: EventCall) -> None:
        with probe.lock:
            if probe.fail_events > 0:
                probe.fail_events -= 1
                raise RuntimeError("injected handler failure")
            probe.runs.append((call.event.integration, call.event.trigger, dict(call.fields)))

    declared.event_handler(
        "audit", triggers=ALL_TRIGGERS, fields={"subject": "{{ticket.subject}}"}
    )(remember)
    declared.event_handler(
        "audit-form",
        triggers=("ticket-created",),
        fields={"subject": "{{ticket.subject}}", "email": "{{ticket.customer.email}}"},
        content_type="application/x-www-form-urlencoded",
    )(remember)
    return declared


class _Deferred:
    """A WSGI app set after its server is bound (the app needs its own URL)."""

    def __init__(self) -> None:
        self.app: Any = None
        self.wrap: Callable[[Any], Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = self.wrap(self.app) if self.wrap else self.app
        return target(environ, start_response)


@dataclass
class LiveInbound:
    """The running app, its kit, the sandbox and the probe."""

    url: str
    app: Flask
    kit: Kit
    sandbox: SandboxControl
    probe: Probe
    clock: OffsetClock
    server: _Deferred

    def install(self, account: str = "acme") -> None:
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=10) as browser:
            driver = InstallDriver(browser)
            try:
                answer = driver.install(account)
            finally:
                driver.close()
        assert answer.status_code == 303, answer.text

    def integration(self, name: str, account: str = "acme") -> dict[str, Any]:
        """The integration the sandbox holds whose URL ends with ``name``."""
        for found in self.sandbox.objects(account)["integrations"]:
            if found["http"]["url"].split("?")[0].endswith(f"/{name}"):
                return dict(found)
        raise AssertionError(f"no integration for {name}")

    def fire(self, trigger: str, ticket_id: int | None = None, account: str = "acme") -> int:
        ticket = ticket_id or self.ticket(account)
        self.sandbox.fire_event(account, ticket, trigger)
        self.sandbox.wait_for_deliveries(20)
        return ticket

    def ticket(self, account: str = "acme") -> int:
        tickets = self.kit.client_for(account).latest_tickets(1)
        return int(tickets[0]["id"])

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until no event is open (the worker ran or dead-lettered every one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.kit.inbound.event_store.counts()
            if not (counts["pending"] or counts["running"] or counts["retrying"]):
                return
            time.sleep(0.05)
        raise AssertionError(f"events still open: {self.kit.inbound.event_store.counts()}")


def build_app(config: dict[str, str], probe: Probe, clock: OffsetClock) -> Flask:
    app = Flask("inbound_test_app")
    app.config.update(config)
    GorgiasKit(integrations=declarations(probe), clock=clock).init_app(app)
    init_operator(app)  # /admin answers 404 unless a test configures an admin
    return app


# Retries fast enough for tests (the defaults are 10 s doubling to an hour).
FAST = {
    "GORGIAS_EVENT_RETRY_BASE": "0.05",
    "GORGIAS_EVENT_RETRY_CAP": "0.2",
    "GORGIAS_EVENT_SWEEP_AFTER": "0",
    "GORGIAS_INBOUND_AT_RISK": "2",
}


@pytest.fixture
def inbound_env() -> dict[str, str]:
    """Extra GORGIAS_* settings (tests parametrize this fixture to change them)."""
    return dict(FAST)


@pytest.fixture
def live(
    sandbox: SandboxControl, database_url: str, inbound_env: dict[str, str], tmp_path: Path
) -> Iterator[LiveInbound]:
    sandbox.configure(redirect_uri_match="loopback")
    deferred = _Deferred()
    server = ThreadedServer(deferred).start()
    probe, clock = Probe(), OffsetClock()
    config = {**kit_env(sandbox.base_url, database_url), "GORGIAS_APP_URL": server.url}
    app = build_app({**config, **inbound_env}, probe, clock)
    deferred.app = app
    kit = app.extensions["gorgias_appkit"]
    consumer = kit.inbound.queue.consumer(threads=2, periodic=False)
    consumer.start()
    try:
        yield LiveInbound(server.url, app, kit, sandbox, probe, clock, deferred)
    finally:
        consumer.stop(graceful=True)
        sandbox.wait_for_deliveries(20)
        server.stop()
        kit.close()
