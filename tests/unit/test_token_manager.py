"""TokenManager over a scripted token endpoint and a fake clock: when it refreshes, and what it
records when a refresh fails."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import InstallStatus
from gorgias_appkit import Kit
from gorgias_appkit import Secret
from gorgias_appkit.errors import TokensUnreadable
from gorgias_appkit.store.schema import installations
from gorgias_appkit.testing import FakeClock

from .conftest import ACME
from .conftest import FakeGorgias
from .conftest import install
from .conftest import token_body

TOKEN = ("POST", "/oauth/token")


def test_a_fresh_token_is_served_without_a_request(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """Outside the leeway the stored token is returned and nothing is sent."""
    install(kit, clock)
    assert kit.access_token_for("acme") == "at-0"
    assert gorgias.requests == []


def test_a_token_inside_the_leeway_is_refreshed_once(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """Within five minutes of expiry: one refresh, the new tokens stored, version bumped."""
    install(kit, clock)
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    clock.advance(24 * 3600 - 60)
    assert kit.access_token_for("acme") == "at-1"
    assert kit.access_token_for("acme") == "at-1"
    assert len(gorgias.calls(*TOKEN)) == 1
    stored = kit.installation("acme")
    assert stored is not None and stored.version == 2
    assert stored.tokens.refresh_token == Secret("rt-1")  # type: ignore[union-attr]


def test_invalid_grant_is_an_inferred_uninstall_announced_after_commit(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """REL-05, issue 11: the hooks see the committed uninstalled state; the dead tokens are gone."""
    install(kit, clock, hours=-1)
    seen: list[tuple[str, str]] = []
    for name in ("health_changed", "uninstalled"):
        kit.hooks.on(
            name, lambda e: seen.append((e.event.value, kit.installation("acme").status.value))
        )
    gorgias.on(*TOKEN, httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(InstallationUnavailable) as caught:
        kit.access_token_for("acme")
    assert caught.value.status == "uninstalled"
    assert seen == [("health_changed", "uninstalled"), ("uninstalled", "uninstalled")]
    stored = kit.installation("acme")
    assert stored is not None and stored.status is InstallStatus.UNINSTALLED
    assert stored.tokens is None
    assert kit.history("acme")[0].event == "uninstall_inferred"


def test_an_unknown_outcome_keeps_serving_the_still_valid_token(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """A lost refresh answer: refresh_failing, backing off, the old token still served."""
    install(kit, clock, hours=0.05)  # 3 minutes left: due, still valid
    gorgias.on(*TOKEN, httpx.ReadTimeout("slow"))
    assert kit.access_token_for("acme") == "at-0"
    installation = kit.installation("acme")
    assert installation is not None and installation.status is InstallStatus.REFRESH_FAILING
    assert installation.next_refresh_at is not None and installation.next_refresh_at > clock.now()
    assert kit.access_token_for("acme") == "at-0"  # backing off: no second request
    assert len(gorgias.calls(*TOKEN)) == 1


def test_a_forced_refresh_is_skipped_when_a_sibling_already_refreshed(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """A 401 names a stale token; the stored one already differs: no request."""
    install(kit, clock)
    token = kit.tokens.access_token_for(ACME, stale=Secret("a-token-from-before"))
    assert token == Secret("at-0") and gorgias.requests == []


def test_refresh_now_never_reports_an_unknown_outcome_as_success(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """Operators: a forced refresh whose answer was lost raises, and the failure is recorded."""
    install(kit, clock)
    gorgias.on(*TOKEN, httpx.RemoteProtocolError("dropped"))
    with pytest.raises(Exception, match="outcome unknown"):
        kit.refresh_now("acme")
    assert kit.installation("acme").status is InstallStatus.REFRESH_FAILING  # type: ignore[union-attr]


def test_tokens_the_keys_cannot_open_are_reported_and_nothing_changes(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """SEC-14 / issue 9: an unreadable row raises :class:`TokensUnreadable`; no write, no call."""
    install(kit, clock)
    with kit.engine.begin() as conn:
        conn.execute(update(installations).values(access_token="v1.00000000.AAAA"))
    before = kit.installation("acme")
    with pytest.raises(TokensUnreadable) as caught:
        kit.access_token_for("acme")
    assert "00000000" in str(caught.value)
    assert kit.installation("acme") == before and gorgias.requests == []
