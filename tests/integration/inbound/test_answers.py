"""Issue 11, data handlers and widgets over real HTTP: the sidebar answer, deadline, contract."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask

from gorgias_appkit import Account
from gorgias_appkit import ConfigError
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.web import GorgiasKit

from ...conftest import kit_env
from .conftest import FAST
from .conftest import LiveInbound
from .conftest import Probe
from .conftest import declarations


def test_install_creates_the_declared_objects_once(live: LiveInbound) -> None:
    """One data integration, one per event trigger, one widget on it; a reinstall adds none."""
    live.install()
    objects = live.sandbox.objects("acme")
    summary = live.integration("summary")
    (widget,) = objects["widgets"]
    assert widget["integration_id"] == summary["id"]
    assert widget["template"]["widgets"][0]["type"] == "card"
    assert len(objects["integrations"]) == 1 + 7 + 1
    assert summary["http"]["url"] == f"{live.url}/gorgias/inbound/acme/summary"
    live.install()
    again = live.sandbox.objects("acme")
    assert sorted(i["id"] for i in again["integrations"]) == sorted(
        i["id"] for i in objects["integrations"]
    )
    assert [w["id"] for w in again["widgets"]] == [widget["id"]]


def test_a_data_handler_answer_is_what_the_widget_shows(live: LiveInbound) -> None:
    """The sandbox stores the handler's JSON for the ticket and renders it in the sidebar."""
    live.install()
    ticket = live.fire("ticket-updated")
    stored = {a["integration_id"]: a["answer"] for a in live.sandbox.answers("acme", ticket)}
    answer = stored[live.integration("summary")["id"]]
    assert answer["ticket"] == str(ticket) and answer["tags"] == []
    health = {h.integration: h for h in live.kit.inbound.repair.of(Account("acme"))}
    assert health["summary"].consecutive_failures == 0


@pytest.mark.parametrize("inbound_env", [{**FAST, "GORGIAS_INBOUND_DEADLINE": "0.5"}])
def test_a_late_data_handler_costs_one_failed_answer_not_a_timeout(live: LiveInbound) -> None:
    """A handler slower than the deadline: Gorgias gets a 504 in time, counted as a failure."""
    live.install()
    live.probe.slow_answer = 2.0
    live.fire("ticket-updated")
    summary = live.integration("summary")["id"]
    (call,) = [d for d in live.sandbox.deliveries("acme") if d["integration_id"] == summary]
    assert (call["outcome"], call["status"]) == ("error:504", 504)
    found = live.kit.inbound.health_store.find(Account("acme"), "summary")
    assert found is not None and (found.consecutive_failures, found.last_error) == (1, "deadline")


def test_a_widget_path_missing_from_the_sample_stops_the_app_from_starting(
    sqlite_url: str,
) -> None:
    """The widget contract: every path the widget reads must be in the declared sample answer."""
    declared = declarations(Probe())
    declared.data["summary"] = replace(declared.data["summary"], sample={"tags": [{"label": "x"}]})
    app = Flask("contract")
    app.config.update({**kit_env("http://127.0.0.1:9", sqlite_url), **FAST})
    with pytest.raises(ConfigError) as failure:
        GorgiasKit(integrations=declared, clock=OffsetClock()).init_app(app)
    problems = failure.value.problems
    assert problems == [
        "widget 'summary': text 'Ticket' reads 'ticket', which is not in the sample answer of "
        "integration 'summary'",
        "widget 'summary': text 'Tag' reads 'tags.0.name', which is not in the sample answer "
        "of integration 'summary'",
    ]
