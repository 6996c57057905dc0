"""Issue 11 on the operator pages: dead letters and replay, integrations at risk, left behind."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from ..test_operator_pages import PASSWORD
from ..test_operator_pages import login
from .conftest import FAST
from .conftest import LiveInbound

ADMIN = {
    **FAST,
    "GORGIAS_EVENT_MAX_ATTEMPTS": "1",
    "GORGIAS_ADMIN_USER": "ops",
    "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
}


@pytest.mark.parametrize("inbound_env", [ADMIN])
def test_the_operator_sees_a_dead_letter_and_replays_it(live: LiveInbound) -> None:
    """/admin/events lists the dead letter with its error; Replay (CSRF) runs it again."""
    live.install()
    live.probe.fail_events = 1
    live.fire("ticket-message-failed")
    live.settle()
    operator = live.app.test_client()
    token = login(operator)
    page = operator.get("/admin/events").get_data(as_text=True)
    dead = page[page.index('id="dead-letters"') : page.index('id="risk-title"')]
    assert "injected handler failure" in dead and "ticket-message-failed" in dead
    (event,) = live.kit.inbound.latest_events("acme")
    assert operator.post(f"/admin/events/{event.id}/replay", data={}).status_code == 403
    answer = operator.post(
        f"/admin/events/{event.id}/replay", data={"csrf_token": token}, follow_redirects=True
    )
    assert f"Event {event.id} queued again" in answer.get_data(as_text=True)
    live.settle()
    assert live.kit.inbound.latest_events("acme")[0].status.value == "done"
    assert [t for _, t, _ in live.probe.runs] == ["ticket-message-failed"]


@pytest.mark.parametrize("inbound_env", [ADMIN])
def test_the_operator_sees_integrations_at_risk_and_what_an_uninstall_left_behind(
    live: LiveInbound,
) -> None:
    """At risk on the list, the detail and /admin/events; after an uninstall, what stays."""
    live.install()
    live.probe.fail_answers = True
    for _ in range(2):
        live.fire("ticket-updated")
    operator = live.app.test_client()
    login(operator)
    listing = operator.get("/admin/").get_data(as_text=True)
    assert "1 at risk" in listing
    detail = operator.get("/admin/accounts/acme").get_data(as_text=True)
    health = detail[detail.index('id="integration-health"') :]
    assert "summary" in health and "at risk" in health and "RuntimeError" in health
    assert "summary: at risk, 2 failure(s) in a row" in operator.get("/admin/events").get_data(
        as_text=True
    )
    live.sandbox.revoke_account("acme")
    with pytest.raises(Exception, match="uninstalled"):
        live.kit.refresh_now("acme")
    detail = operator.get("/admin/accounts/acme").get_data(as_text=True)
    left = detail[detail.index('id="left-behind"') : detail.index('id="health-title"')]
    assert "can no longer delete" in left
    assert left.count("<li>") == len(live.kit.objects.live("acme")) == 10
    assert "left behind" in operator.get("/admin/").get_data(as_text=True)
