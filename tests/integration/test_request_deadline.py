"""Issue 9, item 2: everything a browser request waits on runs under one deadline.

A Gorgias that answers 429 with a long ``Retry-After``, or a slow token refresh, must not hold a
web worker past ``GORGIAS_REQUEST_DEADLINE``: the page says "Gorgias is busy, try again" (503,
``Retry-After``). A refresh started by a request is never cut short into an unknown outcome: it
completes in the background and is stored, only the request stops waiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .lifecycle_support import grant
from .lifecycle_support import refresh_calls

DEADLINE = "1.5"
STORM_RETRY_AFTER = 25


@pytest.fixture
def app_config(sandbox: SandboxControl, database_url: str) -> dict[str, str]:
    """The reference app with a short request deadline."""
    return kit_env(sandbox.base_url, database_url, GORGIAS_REQUEST_DEADLINE=DEADLINE)


def test_item2_429_storm_answers_busy_instead_of_waiting(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """Three 429s with Retry-After 25: the dashboard answers 503 busy at once, not after 75 s."""
    installer.install("acme")
    sandbox.add_fault(
        path="/api/account", mode="status", status=429, retry_after=STORM_RETRY_AFTER, count=3
    )
    started = time.monotonic()
    page = client.get("/accounts/acme")
    took = time.monotonic() - started
    assert page.status_code == 503
    assert int(page.headers["Retry-After"]) >= 1
    assert page.headers["Cache-Control"] == "no-store"
    assert "Gorgias is busy" in page.get_data(as_text=True)
    assert took < STORM_RETRY_AFTER  # it did not sleep through a Retry-After past its deadline
    assert sandbox.count("acme", "api.GET /api/account") >= 1


@pytest.fixture
def always_due_app(app_config: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    """The same app, for which every stored token is due for a refresh."""
    config = {**app_config, "GORGIAS_REFRESH_LEEWAY": str(10**9), "TESTING": True}
    app = create_app(config)
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["gorgias_appkit"].close()


def test_item2_slow_refresh_answers_busy_and_still_completes(
    always_due_app: Flask, sandbox: SandboxControl
) -> None:
    """A refresh slower than the deadline: 503 for the page, the refresh finishes and is stored."""
    client = always_due_app.test_client()
    installer = InstallDriver(client)
    installer.install("acme")  # its install hook already refreshes (every token is due)
    installer.close()
    kit = always_due_app.extensions["gorgias_appkit"]
    before = kit.installation("acme")
    calls = refresh_calls(sandbox)
    sandbox.add_fault(path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=4000)
    page = client.get("/accounts/acme")
    assert page.status_code == 503
    assert "Gorgias is busy" in page.get_data(as_text=True)
    assert page.headers["Retry-After"]
    # The request gave up; the refresh did not. Wait (bounded) for it to be stored.
    for _ in range(100):
        installation = kit.installation("acme")
        if installation.last_refresh_at != before.last_refresh_at:
            break
        time.sleep(0.1)
    assert installation.last_refresh_at != before.last_refresh_at, "the refresh never completed"
    assert installation.status is InstallStatus.ACTIVE
    assert installation.tokens.access_token != before.tokens.access_token
    assert refresh_calls(sandbox) == calls + 1
    assert grant(sandbox)["status"] == "active"
    assert grant(sandbox)["current_refresh_token"] == installation.tokens.refresh_token.reveal()
    assert {e["status_before"] for e in grant(sandbox)["refresh_log"]} == {"current"}
