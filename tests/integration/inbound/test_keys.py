"""Issue 11, per-install credentials: forged, missing, foreign and old keys are refused (401)."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest

from .conftest import LiveInbound


def call(live: LiveInbound, key: str | None, *, account: str = "acme") -> httpx.Response:
    """A data call as Gorgias would make it, with ``key`` in the header (or none)."""
    headers = {"X-Appkit-Key": key} if key is not None else {}
    return httpx.post(
        f"{live.url}/gorgias/inbound/{account}/summary",
        json={"ticket_id": "1", "subject": "s"},
        headers=headers,
        timeout=10,
    )


def key_of(live: LiveInbound, account: str = "acme") -> str:
    return str(live.integration("summary", account)["http"]["headers"]["X-Appkit-Key"])


def test_each_install_gets_its_own_random_key_and_only_it_opens_the_door(
    live: LiveInbound,
) -> None:
    """SEC: forged, missing, empty and another account's keys get 401; the right one 200."""
    live.install("acme")
    live.install("globex")
    acme, globex = key_of(live, "acme"), key_of(live, "globex")
    assert acme != globex and len(acme) >= 43
    assert call(live, acme).status_code == 200
    for wrong in (None, "", secrets.token_urlsafe(32), globex, acme[:-1], acme + "x"):
        refused = call(live, wrong)
        assert refused.status_code == 401
        assert refused.json() == {"error": "unauthorized"}
    assert call(live, acme, account="initech").status_code == 401  # not installed there
    assert call(live, acme, account="Not An Account").status_code == 401


def test_a_reinstall_issues_a_new_key_and_the_old_one_stops_working(live: LiveInbound) -> None:
    """The reinstall pushes a fresh key to Gorgias; the previous one is refused at once."""
    live.install()
    old = key_of(live)
    live.install()
    new = key_of(live)
    assert new != old
    assert call(live, old).status_code == 401
    assert call(live, new).status_code == 200


def test_disconnect_refuses_the_key(live: LiveInbound) -> None:
    """After a disconnect the integration is gone and its key is refused."""
    live.install()
    key = key_of(live)
    live.kit.disconnect("acme")
    assert live.sandbox.objects("acme") == {"integrations": [], "widgets": []}
    assert call(live, key).status_code == 401


def test_rotation_pushes_a_new_key_and_honours_the_old_one_for_the_grace_period(
    live: LiveInbound,
) -> None:
    """No downtime: after a rotation both keys work until the grace period ends (1 h)."""
    live.install()
    old = key_of(live)
    live.kit.rotate_inbound_key("acme")
    new = key_of(live)
    assert new != old
    assert call(live, new).status_code == 200
    assert call(live, old).status_code == 200
    live.clock.advance(3601)
    assert call(live, old).status_code == 401
    assert call(live, new).status_code == 200
    live.fire("ticket-updated")  # Gorgias now sends the new key
    assert {d["outcome"] for d in live.sandbox.deliveries("acme")} == {"ok"}


def test_the_key_never_reaches_a_log_line(
    live: LiveInbound, caplog: pytest.LogCaptureFixture
) -> None:
    """Install, calls, refusals, rotation: no log record contains a key."""
    caplog.set_level(logging.DEBUG)
    live.install()
    first = key_of(live)
    call(live, first)
    call(live, "forged-" + first)
    live.kit.rotate_inbound_key("acme")
    live.fire("ticket-updated")
    live.settle()
    text = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for key in (first, key_of(live)):
        assert key not in text
    assert all(v == "***" for d in live.sandbox.deliveries("acme") for v in d["headers"].values())
