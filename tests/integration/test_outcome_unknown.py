"""A token request whose answer never came may have been processed: it is never sent again.

Issue 9, item 1 (REL-06, REL-03 as this project applies them): the sandbox's ``delay`` fault
holds a token request and then *acts on it* after the client gave up, exactly like a slow
Gorgias. Re-sending the same code is a replay (the server revokes the grant); re-sending a
rotating refresh token is reuse (the server revokes the grant). The kit must do neither.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask import Flask

from gorgias_appkit import InstallStatus
from gorgias_appkit.cli import main
from gorgias_appkit.errors import TokenEndpointError
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .lifecycle_support import KitFactory
from .lifecycle_support import grant
from .lifecycle_support import install
from .lifecycle_support import refresh_calls

# A token endpoint slower than the client's patience, which still acts once it wakes up.
SLOW_MS = 1500
PATIENCE = {"GORGIAS_READ_TIMEOUT": "0.4", "GORGIAS_TOKEN_READ_TIMEOUT": "0.4"}


@pytest.fixture
def kits(sandbox: SandboxControl, sqlite_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, sqlite_url)
    yield factory
    factory.close()


@pytest.fixture
def app_config(sandbox: SandboxControl, database_url: str) -> dict[str, str]:
    """The reference app, as impatient with the token endpoint as PATIENCE says."""
    return kit_env(sandbox.base_url, database_url, **PATIENCE)


def wait_for_the_slow_request() -> None:
    """Let the held request finish acting at the sandbox."""
    time.sleep(SLOW_MS / 1000 + 0.5)


def test_slow_code_exchange_is_never_resent_and_stores_nothing(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """A code exchange that timed out gets a "start again" page; the code is sent once only."""
    kit = app.extensions["gorgias_appkit"]
    sandbox.add_fault(
        path="/oauth/token", grant_type="authorization_code", mode="delay", delay_ms=SLOW_MS
    )
    response = installer.install("acme")
    page = response.get_data(as_text=True)
    assert response.status_code == 504
    assert "did not answer in time" in page
    assert "Start again" in page or "start again" in page
    wait_for_the_slow_request()
    assert sandbox.count("acme", "oauth.token.authorization_code") == 1
    assert sandbox.count("acme", "oauth.code_replay") == 0
    assert [g["status"] for g in sandbox.grants("acme")] == ["active"]  # not killed by a replay
    assert kit.installation("acme") is None
    objects = sandbox.objects("acme")
    assert objects["integrations"] == [] and objects["widgets"] == []
    assert installer.install("acme").status_code == 303  # a fresh start works


def test_slow_rotating_refresh_is_never_resent(kits: KitFactory, sandbox: SandboxControl) -> None:
    """A refresh that timed out is "outcome unknown": refresh_failing, never reported as done."""
    sandbox.configure(rotate_refresh_tokens=True)
    clock = OffsetClock()
    kit = kits(clock=clock, **PATIENCE)
    install(kit, sandbox)
    clock.advance(86400)  # the access token has expired
    sandbox.add_fault(
        path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=SLOW_MS
    )
    with pytest.raises(TokenEndpointError) as caught:
        kit.refresh_now("acme")
    assert caught.value.error == "refresh_outcome_unknown"
    installation = kit.installation("acme")
    assert installation.status is InstallStatus.REFRESH_FAILING
    assert "outcome unknown" in (installation.last_error or "")
    wait_for_the_slow_request()
    assert refresh_calls(sandbox) == 1
    assert [e["result"] for e in grant(sandbox)["refresh_log"]] == ["ok"]  # no reuse, no kill
    assert grant(sandbox)["status"] == "active"


def test_installs_refresh_command_reports_an_unknown_outcome(
    kits: KitFactory, sandbox: SandboxControl, sqlite_url: str
) -> None:
    """``installs refresh`` never prints "Refreshed" for a refresh whose answer was lost."""
    sandbox.configure(rotate_refresh_tokens=True)
    kit = kits()
    install(kit, sandbox)
    sandbox.add_fault(
        path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=SLOW_MS
    )
    result = CliRunner().invoke(main, ["installs", "refresh", "acme"], env={**kits.env, **PATIENCE})
    assert result.exit_code == 1, result.output
    assert "Refreshed" not in result.output
    assert "did not answer in time" in result.output
    wait_for_the_slow_request()
    assert refresh_calls(sandbox) == 1
    assert grant(sandbox)["status"] == "active"


def test_slow_token_endpoint_within_the_token_timeout_loses_no_grant(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """The token endpoint has its own, longer timeout: a slow refresh completes, grant intact."""
    sandbox.configure(rotate_refresh_tokens=True)
    clock = OffsetClock()
    kit = kits(clock=clock, GORGIAS_READ_TIMEOUT="0.4", GORGIAS_TOKEN_READ_TIMEOUT="5")
    install(kit, sandbox)
    clock.advance(86400)
    sandbox.add_fault(
        path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=SLOW_MS
    )
    kit.refresh_now("acme")
    wait_for_the_slow_request()
    assert refresh_calls(sandbox) == 1
    assert kit.installation("acme").status is InstallStatus.ACTIVE
    assert grant(sandbox)["status"] == "active"
    assert grant(sandbox)["current_refresh_token"] == (
        kit.installation("acme").tokens.refresh_token.reveal()
    )
