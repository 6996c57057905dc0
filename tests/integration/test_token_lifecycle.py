"""Issue 3: the token lifecycle under faults, each injected through the sandbox (REL-02..09).

Every test checks the promises that matter most: the stored refresh token is never empty, and
no refresh is ever sent with a refresh token the sandbox had already superseded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import InstallStatus
from gorgias_appkit import OAuthError
from gorgias_appkit.core.retry import RetryPolicy
from gorgias_appkit.errors import TokenEndpointError
from gorgias_appkit.errors import Unauthorized
from gorgias_appkit.metrics import METRICS
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .lifecycle_support import KitFactory
from .lifecycle_support import assert_no_superseded_use
from .lifecycle_support import grant
from .lifecycle_support import install
from .lifecycle_support import refresh_calls
from .lifecycle_support import stored_refresh_token

REFRESH = {"path": "/oauth/token", "grant_type": "refresh_token"}


@pytest.fixture
def kits(sandbox: SandboxControl, database_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, database_url)
    yield factory
    factory.close()


def install_expiring(kit, sandbox: SandboxControl, account: str = "acme", ttl: int = 60) -> None:
    """Install with a short-lived access token; later refreshes get the normal 24 h."""
    sandbox.configure(access_token_ttl=ttl)
    install(kit, sandbox, account)
    sandbox.configure(access_token_ttl=86400)


# -- REL-07: refresh ahead of expiry -----------------------------------------------------------
def test_refreshes_once_inside_the_leeway_and_not_before(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-07: no refresh while outside the leeway, then exactly one refresh inside it."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox, ttl=3600)
    first = kit.access_token_for("acme")
    assert refresh_calls(sandbox) == 0
    clock.advance(3600 - 290)  # 290 s left: inside the 300 s leeway, still valid
    tokens = {kit.access_token_for("acme") for _ in range(5)}
    assert len(tokens) == 1 and first not in tokens
    assert refresh_calls(sandbox) == 1
    assert kit.installation("acme").status is InstallStatus.ACTIVE


# -- REL-02: never lose a refresh token --------------------------------------------------------
def test_omitted_refresh_token_keeps_the_stored_one(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-02: a refresh response without refresh_token keeps the stored one (RFC 6749 §6)."""
    kit = kits()
    install_expiring(kit, sandbox)
    before = stored_refresh_token(kit)
    kit.access_token_for("acme")
    assert refresh_calls(sandbox) == 1
    assert len(grant(sandbox)["refresh_tokens"]) == 1  # the sandbox sent no new one
    assert stored_refresh_token(kit) == before


def test_rotated_refresh_token_replaces_the_old_one(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-02: with rotation the new refresh token is stored, and the next refresh uses it."""
    sandbox.configure(rotate_refresh_tokens=True)
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox)
    before = stored_refresh_token(kit)
    kit.access_token_for("acme")
    rotated = stored_refresh_token(kit)
    assert rotated != before
    assert rotated == grant(sandbox)["current_refresh_token"]
    clock.advance(86400)  # the refreshed token is now due as well
    kit.access_token_for("acme")
    assert refresh_calls(sandbox) == 2
    assert stored_refresh_token(kit) == grant(sandbox)["current_refresh_token"]
    assert grant(sandbox)["status"] == "active"
    assert_no_superseded_use(sandbox)


# -- REL-03 as applied here: a lost refresh response is never resent --------------------------
def test_lost_refresh_response_is_not_resent_without_rotation(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """drop_after with rotation off: one call, refresh_failing, the next try works (same RT)."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox)
    before = stored_refresh_token(kit)
    sandbox.add_fault(**REFRESH, mode="drop_after")
    kit.access_token_for("acme")  # the old token still works: served, the failure recorded
    assert refresh_calls(sandbox) == 1
    installation = kit.installation("acme")
    assert installation.status is InstallStatus.REFRESH_FAILING
    assert "outcome unknown" in installation.last_error
    clock.advance(3700)  # past the backoff: the same refresh token, which the server kept
    assert kit.refresh_if_due("acme", within=10**6).outcome.value == "refreshed"
    assert refresh_calls(sandbox) == 2
    assert kit.installation("acme").status is InstallStatus.ACTIVE
    assert stored_refresh_token(kit) == before
    assert grant(sandbox)["status"] == "active"


def test_lost_refresh_response_with_rotation_is_not_resent(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """drop_after with rotation on: one call, never a resend that would be reuse."""
    sandbox.configure(rotate_refresh_tokens=True)
    kit = kits()
    seen = []
    kit.hooks.on("health_changed", seen.append)
    install_expiring(kit, sandbox)
    sandbox.add_fault(**REFRESH, mode="drop_after")
    kit.access_token_for("acme")
    assert refresh_calls(sandbox) == 1
    assert kit.installation("acme").status is InstallStatus.REFRESH_FAILING
    assert [e.installation.status for e in seen] == [InstallStatus.REFRESH_FAILING]
    stored_refresh_token(kit)  # kept, not emptied
    assert [e["result"] for e in grant(sandbox)["refresh_log"]] == ["ok"]  # no reuse sent


# -- REL-04: bounded retries with backoff ------------------------------------------------------
def test_503_twice_then_success_with_the_same_refresh_token(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-04: 503, 503, 200: three calls, all with the one current refresh token."""
    kit = kits()
    install_expiring(kit, sandbox)
    before = stored_refresh_token(kit)
    retries = METRICS.value("gorgias_token_endpoint_retries_total", reason="503")
    refreshed = METRICS.value("gorgias_refresh_total", result="ok", reason="expiring")
    sandbox.add_fault(**REFRESH, mode="status", status=503, count=2)
    kit.access_token_for("acme")
    assert refresh_calls(sandbox) == 3
    assert stored_refresh_token(kit) == before
    assert [e["result"] for e in grant(sandbox)["refresh_log"]] == ["ok"]
    assert kit.installation("acme").status is InstallStatus.ACTIVE
    assert METRICS.value("gorgias_token_endpoint_retries_total", reason="503") == retries + 2
    assert METRICS.value("gorgias_refresh_total", result="ok", reason="expiring") == refreshed + 1


def test_429_retry_after_is_honoured(kits: KitFactory, sandbox: SandboxControl) -> None:
    """REL-04: after a 429 with Retry-After: 3 the kit waits at least three seconds (fake ones)."""
    clock = FakeClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox)
    sandbox.add_fault(**REFRESH, mode="status", status=429, retry_after=3)
    kit.access_token_for("acme")
    assert len(clock.slept) == 1 and clock.slept[0] >= 3
    assert refresh_calls(sandbox) == 2


def test_503_forever_gives_up_at_the_deadline(kits: KitFactory, sandbox: SandboxControl) -> None:
    """REL-04/09: a token endpoint that always refuses is abandoned at the deadline, then rested."""
    clock = OffsetClock()
    kit = kits(
        clock=clock, token_retry=RetryPolicy(base=0.05, cap=0.2, max_attempts=999, deadline=1.5)
    )
    install_expiring(kit, sandbox)
    before = stored_refresh_token(kit)
    clock.advance(120)  # expired: no old token to fall back on
    sandbox.add_fault(**REFRESH, mode="status", status=503, count=-1)
    started = time.monotonic()
    with pytest.raises(TokenEndpointError):
        kit.access_token_for("acme")
    assert 1.0 <= time.monotonic() - started < 3.0
    calls = refresh_calls(sandbox)
    assert calls >= 4
    installation = kit.installation("acme")
    assert installation.status is InstallStatus.REFRESH_FAILING
    assert installation.refresh_failures == 1
    assert installation.next_refresh_at > clock.now()
    assert stored_refresh_token(kit) == before
    with pytest.raises(TokenEndpointError):  # backing off: fails fast, no new request
        kit.access_token_for("acme")
    assert refresh_calls(sandbox) == calls


def test_500_is_not_resent(kits: KitFactory, sandbox: SandboxControl) -> None:
    """A 500 may come after the server acted: the refresh token is not sent again."""
    kit = kits()
    install_expiring(kit, sandbox)
    sandbox.add_fault(**REFRESH, mode="status", status=500, count=-1)
    kit.access_token_for("acme")  # the old token is still valid: served
    assert refresh_calls(sandbox) == 1
    assert kit.installation("acme").status is InstallStatus.REFRESH_FAILING


# -- REL-05: invalid_grant is terminal --------------------------------------------------------
def test_invalid_grant_is_terminal_and_fails_fast(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-05: a revoked grant: one refresh call, uninstalled, then 50 fast typed failures."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox)
    failed = METRICS.value("gorgias_refresh_total", result="failed", reason="invalid_grant")
    sandbox.revoke_account("acme")  # the merchant uninstalled the app in Gorgias
    clock.advance(120)
    with pytest.raises(InstallationUnavailable) as caught:
        kit.access_token_for("acme")
    assert caught.value.status == "uninstalled"  # inferred: removed in Gorgias (issue 11)
    started = time.monotonic()
    for _ in range(50):
        with pytest.raises(InstallationUnavailable):
            kit.access_token_for("acme")
    assert time.monotonic() - started < 2.0
    assert refresh_calls(sandbox) == 1
    installation = kit.installation("acme")
    assert installation.status is InstallStatus.UNINSTALLED
    assert installation.tokens is None  # dead tokens are dropped; the ledger stays for a reconnect
    assert (
        METRICS.value("gorgias_refresh_total", result="failed", reason="invalid_grant")
        == failed + 1
    )


# -- REL-07: an API 401 ------------------------------------------------------------------------
def account_calls(sandbox: SandboxControl) -> int:
    return sandbox.count("acme", "api.GET /api/account")


def test_api_401_forces_one_refresh_and_one_retry(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-07: a 401 on a valid-looking token: one forced refresh, one retry, success."""
    kit = kits()
    install(kit, sandbox)
    before, calls = kit.access_token_for("acme"), account_calls(sandbox)
    sandbox.add_fault(path="/api/account", mode="status", status=401)
    assert kit.client_for("acme").get("/account")["domain"] == "acme"
    assert refresh_calls(sandbox) == 1
    assert account_calls(sandbox) == calls + 2
    assert kit.access_token_for("acme") != before


def test_api_401_after_the_forced_refresh_never_loops(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-07: 401 again on the fresh token: Unauthorized, uninstalled, never a loop."""
    kit = kits()
    install(kit, sandbox)
    calls = account_calls(sandbox)
    sandbox.add_fault(path="/api/account", mode="status", status=401, count=-1)
    with pytest.raises(Unauthorized):
        kit.client_for("acme").get("/account")
    assert refresh_calls(sandbox) == 1
    assert account_calls(sandbox) == calls + 2
    assert kit.installation("acme").status is InstallStatus.UNINSTALLED
    assert kit.history("acme")[0].event == "uninstall_inferred"


def test_api_401_after_uninstall_in_gorgias_is_an_inferred_uninstall(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-05/07: grant revoked with its access tokens: one refresh (refused), uninstalled."""
    sandbox.configure(revoke_access_tokens_on_revoke=True)
    kit = kits()
    install(kit, sandbox)
    calls = account_calls(sandbox)
    sandbox.revoke_account("acme")
    with pytest.raises(InstallationUnavailable):
        kit.client_for("acme").get("/account")
    assert refresh_calls(sandbox) == 1
    assert account_calls(sandbox) == calls + 1
    assert kit.installation("acme").status is InstallStatus.UNINSTALLED


# -- REL-09: timeouts everywhere ---------------------------------------------------------------
def test_read_timeout_is_an_unknown_outcome_and_releases_the_lock(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-09/03: a read timeout shorter than the delay: one call, a typed error, lock free."""
    clock = OffsetClock()
    kit = kits(clock=clock, GORGIAS_TOKEN_READ_TIMEOUT="0.5")
    install_expiring(kit, sandbox)
    clock.advance(120)  # expired: no old token to fall back on
    sandbox.add_fault(**REFRESH, mode="delay", delay_ms=1500)
    started = time.monotonic()
    with pytest.raises(TokenEndpointError) as caught:
        kit.access_token_for("acme")
    assert caught.value.error == "refresh_outcome_unknown"
    assert time.monotonic() - started < 1.4
    assert refresh_calls(sandbox) == 1
    assert kit.installation("acme").status is InstallStatus.REFRESH_FAILING
    other = kits()  # another instance takes the lock at once: it was released
    started = time.monotonic()
    report = other.refresh_if_due("acme", within=10**6)
    assert time.monotonic() - started < 1.0
    assert report.reason == "backing_off"
    stored_refresh_token(kit)


# -- REL-06: the code exchange -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["drop_before", "drop_after"])
def test_dropped_exchange_is_never_resent(
    mode: str, installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """REL-06 as applied here: a connection dropped after the code left is "outcome unknown".

    Over HTTP a server that dropped the connection before acting looks exactly like one that
    acted first, so neither is resent: a "start again" page (504), then a fresh install works.
    """
    sandbox.add_fault(path="/oauth/token", grant_type="authorization_code", mode=mode)
    response = installer.install("acme")
    assert response.status_code == 504
    assert "start again" in response.get_data(as_text=True)
    assert app.extensions["gorgias_appkit"].installation("acme") is None
    assert sandbox.count("acme", "oauth.token.authorization_code") == 1
    assert sandbox.count("acme", "oauth.code_replay") == 0
    assert installer.install("acme").status_code == 303
    assert sandbox.grants("acme")[-1]["status"] == "active"


# -- health states and hooks -------------------------------------------------------------------
def test_health_transitions_are_recorded_and_announced(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Each health transition lands in the history and reaches a health_changed hook."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    seen: list[tuple[str | None, str]] = []
    installs: list[str] = []
    kit.hooks.on(
        "health_changed", lambda e: seen.append((e.previous_status, e.installation.status))
    )
    kit.hooks.on("installed", lambda e: installs.append(e.installation.account))
    install_expiring(kit, sandbox)
    old = kit.installation("acme").tokens.access_token.reveal()  # due, still valid
    sandbox.add_fault(**REFRESH, mode="status", status=500, count=-1)
    assert kit.access_token_for("acme") == old  # refresh failed: the valid token is served
    failing = kit.installation("acme")
    assert failing.status is InstallStatus.REFRESH_FAILING
    assert failing.refresh_failures == 1 and failing.next_refresh_at is not None
    sandbox.clear_faults()
    clock.advance(120)  # past the next try and past expiry
    assert kit.access_token_for("acme") != old
    sandbox.configure(revoke_access_tokens_on_revoke=True)
    sandbox.revoke_account("acme")
    with pytest.raises(InstallationUnavailable):
        kit.client_for("acme").get("/account")
    kit.disconnect("acme")
    install(kit, sandbox)
    assert seen == [
        ("active", "refresh_failing"),
        ("refresh_failing", "active"),
        ("active", "uninstalled"),  # inferred; the later disconnect changes no health
    ]
    assert installs == ["acme", "acme"]
    history = [(e.event, e.from_status, e.to_status) for e in reversed(kit.history("acme"))]
    assert [h for h in history if h[0] == "health_changed"] == [
        ("health_changed", "active", "refresh_failing"),
        ("health_changed", "refresh_failing", "active"),
    ]
    assert ("uninstall_inferred", "active", "uninstalled") in history
    assert ("disconnected", "uninstalled", "uninstalled") in history
    assert history[-1] == ("installed", "uninstalled", "active")
    assert all(e.at.tzinfo is not None for e in kit.history("acme"))


# -- refresh-due -------------------------------------------------------------------------------
def run_cli(kits: KitFactory, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``gorgias-appkit`` command the way cron would."""
    command = Path(sys.executable).with_name("gorgias-appkit")
    env = {**os.environ, **kits.env, "GORGIAS_INSTANCE_PATH": str(tmp_path)}
    return subprocess.run(  # noqa: S603 - our own console script
        [str(command), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_refresh_due_refreshes_what_expires_and_reports(
    kits: KitFactory, sandbox: SandboxControl, tmp_path: Path
) -> None:
    """REL-12: refresh-due refreshes due accounts, reports failures, exits 1, leaves the rest."""
    kit = kits()
    install_expiring(kit, sandbox, "acme", ttl=1800)
    install(kit, sandbox, "globex")  # 24 h left: not due
    install_expiring(kit, sandbox, "initech", ttl=1800)
    sandbox.revoke_account("initech")
    result = run_cli(kits, tmp_path, "refresh-due", "--within", "3600")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "acme: refreshed" in lines
    assert "initech: failed (uninstalled)" in lines
    assert lines[-1] == "refreshed 1, failed 1, skipped 0"
    assert [refresh_calls(sandbox, a) for a in ("acme", "globex", "initech")] == [1, 0, 1]
    again = run_cli(kits, tmp_path, "refresh-due", "--within", "3600", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["summary"] == {"refreshed": 0, "skipped": 0, "failed": 0}
    assert report["results"] == []
    for secret in (kits.env["GORGIAS_CLIENT_SECRET"], stored_refresh_token(kit, "acme")):
        assert secret not in result.stdout + result.stderr + again.stdout + again.stderr


def test_refresh_due_json_lists_each_account(
    kits: KitFactory, sandbox: SandboxControl, tmp_path: Path
) -> None:
    """refresh-due --json gives one machine-readable document with each account's outcome."""
    kit = kits()
    install_expiring(kit, sandbox, "acme", ttl=1800)
    result = run_cli(kits, tmp_path, "refresh-due", "--within", "3600", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["results"] == [{"account": "acme", "outcome": "refreshed", "reason": "ok"}]
    assert report["summary"]["refreshed"] == 1
    left = kit.installation("acme").tokens.expires_at - kit.clock.now()
    assert left.total_seconds() > 3600


def test_refresh_failure_is_an_oauth_error_with_no_token_in_it(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """SEC-13: the error a failed refresh raises names no token, code or secret."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install_expiring(kit, sandbox)
    clock.advance(120)
    refresh = stored_refresh_token(kit)
    sandbox.add_fault(**REFRESH, mode="status", status=503, count=-1)
    with pytest.raises(OAuthError) as caught:
        kit.access_token_for("acme")
    text = f"{caught.value!r} {caught.value} {kit.installation('acme')!r}"
    assert refresh not in text
    assert kits.env["GORGIAS_CLIENT_SECRET"] not in text


# -- REL-08: a refreshed id_token is validated like the first one -----------------------------
def test_refresh_with_a_valid_id_token_succeeds(kits: KitFactory, sandbox: SandboxControl) -> None:
    """REL-08: a refresh response carrying a sound id_token for the same user is accepted."""
    kit = kits()
    install_expiring(kit, sandbox)
    sandbox.configure(id_token_on_refresh=True)
    before = kit.installation("acme").tokens.access_token.reveal()
    assert kit.access_token_for("acme") != before
    assert kit.installation("acme").status is InstallStatus.ACTIVE


@pytest.mark.parametrize("tamper", ["bad_iss", "bad_aud", "alg_none", "bad_signature"])
def test_refresh_with_a_tampered_id_token_keeps_the_old_tokens(
    tamper: str, kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-08: a refreshed id_token with another issuer/audience or a bad signature is refused."""
    sandbox.configure(publish_jwks=True)
    kit = kits()
    install_expiring(kit, sandbox)
    stored = kit.installation("acme").tokens
    sandbox.configure(id_token_on_refresh=True, id_token_tamper=tamper)
    # The stored token is still valid (only inside the leeway), so the caller keeps it.
    assert kit.access_token_for("acme") == stored.access_token.reveal()
    after = kit.installation("acme")
    assert after.status is InstallStatus.REFRESH_FAILING
    assert "id_token" in (after.last_error or "")
    assert after.tokens.access_token == stored.access_token
    assert stored_refresh_token(kit) == stored.refresh_token.reveal()
