"""Issue 11: the 100-failure rule (counted, at risk, repaired) and the inferred uninstall."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gorgias_appkit import Account
from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import LifecycleEvent

from .conftest import LiveInbound
from .test_keys import call
from .test_keys import key_of


def states(live: LiveInbound) -> dict[str, dict[str, Any]]:
    """The sandbox's view of each integration, keyed by the end of its URL."""
    by_id = {i["id"]: i["http"]["url"] for i in live.sandbox.objects("acme")["integrations"]}
    return {
        by_id[s["integration_id"]].split("/inbound/acme/")[1]: s
        for s in live.sandbox.integration_states("acme")
    }


def test_failures_are_counted_at_risk_then_repaired_once_the_app_answers(
    live: LiveInbound,
) -> None:
    """A key Gorgias does not have: 401s, at risk, deactivated; repair pushes it, reactivates."""
    live.install()
    live.sandbox.configure(integration_failure_limit=3)
    live.kit.inbound.keys.issue(Account("acme"))  # a new key the app never pushed to Gorgias
    for _ in range(3):
        live.fire("ticket-updated")
    assert states(live)["summary"]["active"] is False
    assert states(live)["audit/ticket-updated"]["active"] is False
    at_risk = {h.integration: h for h in live.kit.inbound.repair.at_risk()}
    assert at_risk["summary"].consecutive_failures == 3
    assert at_risk["summary"].state(2) == "at risk"
    results = {r.integration: r.outcome for r in live.kit.repair("acme")}
    assert results["summary"] == results["audit:ticket-updated"] == "reactivated"
    assert results["audit:ticket-created"] == "active"
    assert all(s["active"] for s in states(live).values())
    assert call(live, key_of(live)).status_code == 200  # Gorgias holds the current key again
    live.fire("ticket-updated")
    assert live.kit.inbound.repair.at_risk() == []


def test_repair_leaves_an_integration_deactivated_while_the_app_does_not_answer(
    live: LiveInbound,
) -> None:
    """The probe (as Gorgias would call) fails: nothing is reactivated."""
    live.install()
    live.sandbox.configure(integration_failure_limit=2)
    live.probe.fail_answers = True
    for _ in range(2):
        live.fire("ticket-updated")
    assert states(live)["summary"]["active"] is False
    live.server.wrap = lambda app: unavailable
    results = {r.integration: r.outcome for r in live.kit.repair("acme")}
    assert results["summary"] == "still_failing"
    assert states(live)["summary"]["active"] is False
    (health,) = [h for h in live.kit.inbound.repair.at_risk() if h.integration == "summary"]
    assert health.state(2) == "deactivated"


def unavailable(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The app is down behind its proxy."""
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"down"]


def test_invalid_grant_infers_the_uninstall_and_lists_what_stays_behind(
    live: LiveInbound,
) -> None:
    """The merchant removed the app in Gorgias: uninstalled, hook fired, key refused."""
    live.install()
    key = key_of(live)
    seen: list[LifecycleEvent] = []
    live.kit.hooks.on("uninstalled", seen.append)
    created = len(live.kit.objects.live("acme"))
    live.sandbox.revoke_account("acme")
    with pytest.raises(InstallationUnavailable) as lost:
        live.kit.refresh_now("acme")
    assert lost.value.status == "uninstalled"
    installation = live.kit.installation("acme")
    assert installation is not None and installation.status.value == "uninstalled"
    assert [e.event.value for e in seen] == ["uninstalled"]
    assert call(live, key).status_code == 401
    assert len(live.kit.objects.live("acme")) == created == 10  # left in the account
    assert len(live.sandbox.objects("acme")["integrations"]) == 9


def test_a_401_on_a_fresh_token_infers_the_uninstall(live: LiveInbound) -> None:
    """REL-07: the API refuses a token refreshed a moment ago: uninstalled, not a loop."""
    live.install()
    live.sandbox.configure(revoke_access_tokens_on_revoke=True)
    live.sandbox.revoke_account("acme")
    with pytest.raises(InstallationUnavailable):
        live.kit.client_for("acme").account_info()
    installation = live.kit.installation("acme")
    assert installation is not None and installation.status.value == "uninstalled"
    assert live.kit.history("acme")[0].event == "uninstall_inferred"


def test_repair_pushes_the_current_key_to_an_integration_that_sends_an_old_one(
    live: LiveInbound,
) -> None:
    """A key push that failed: calls refused, at risk, still active; repair pushes the key."""
    live.install()
    live.kit.inbound.keys.issue(Account("acme"))  # Gorgias still holds the previous key
    for _ in range(2):
        live.fire("ticket-updated")
    assert states(live)["summary"]["active"] is True
    (health,) = [h for h in live.kit.inbound.repair.at_risk() if h.integration == "summary"]
    assert health.last_error == "key refused (401)"
    results = {r.integration: r.outcome for r in live.kit.repair("acme")}
    assert results["summary"] == results["audit:ticket-updated"] == "key_pushed"
    assert results["audit:ticket-created"] == "active"
    live.fire("ticket-updated")
    assert live.kit.inbound.repair.at_risk() == []


def test_every_inbound_answer_is_json_even_an_error(live: LiveInbound) -> None:
    """Gorgias takes JSON only: a wrong method or an unknown integration is JSON too."""
    live.install()
    key = key_of(live)
    wrong_method = httpx.delete(f"{live.url}/gorgias/inbound/acme/summary", timeout=10)
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"error": "method not allowed"},
    )
    unknown = httpx.post(
        f"{live.url}/gorgias/inbound/acme/nothing", headers={"X-Appkit-Key": key}, timeout=10
    )
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no such integration"})
    broken = httpx.post(
        f"{live.url}/gorgias/inbound/acme/summary",
        content=b"[1, 2]",
        headers={"X-Appkit-Key": key, "Content-Type": "application/json"},
        timeout=10,
    )
    assert (broken.status_code, broken.json()["error"]) == (
        400,
        "the body must be a JSON object or a urlencoded form",
    )
