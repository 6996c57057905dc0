"""Issue 3: disconnect and upstream revocation (REL-10), from the kit and from the web page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import InstallStatus
from gorgias_appkit.store.schema import pending_revocations
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .lifecycle_support import KitFactory
from .lifecycle_support import grant
from .lifecycle_support import install
from .lifecycle_support import refresh_calls

REVOKE = {"path": "/oauth/revoke", "mode": "status"}


@pytest.fixture
def kits(sandbox: SandboxControl, database_url: str) -> Iterator[KitFactory]:
    factory = KitFactory(sandbox, database_url)
    yield factory
    factory.close()


def revoke_calls(sandbox: SandboxControl, account: str = "acme") -> int:
    return sandbox.count(account, "oauth.revoke")


def events(kit, account: str = "acme") -> list[str]:
    return [e.event for e in reversed(kit.history(account))]


def test_disconnect_revokes_the_grant_and_makes_tokens_unusable(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-10: disconnect revokes the refresh token upstream and local tokens stop at once."""
    kit = kits()
    install(kit, sandbox)
    updated = kit.disconnect("acme").installation
    assert updated.status is InstallStatus.UNINSTALLED and updated.tokens is None
    assert revoke_calls(sandbox) == 1
    assert grant(sandbox)["status"] == "revoked"
    assert grant(sandbox)["revoked_reason"] == "revoked_by_client"
    with pytest.raises(InstallationUnavailable):
        kit.access_token_for("acme")
    assert kit.retry_pending_revocations().revoked == 0
    assert events(kit)[-2:] == ["disconnected", "revoked"]


def test_revocation_503_is_queued_and_retried_until_it_succeeds(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-10: revocation answers 503 three times: tokens unusable at once, queue retries, done."""
    clock = OffsetClock()
    kit = kits(clock=clock)
    install(kit, sandbox)
    sandbox.add_fault(**REVOKE, status=503, count=3)
    kit.disconnect("acme")
    assert kit.installation("acme").tokens is None  # regardless of the upstream answer
    assert grant(sandbox)["status"] == "active"
    reports = []
    for _ in range(3):
        clock.advance(7 * 3600)  # past the capped backoff
        reports.append(kit.retry_pending_revocations())
    assert [(r.revoked, r.retrying) for r in reports] == [(0, 1), (0, 1), (1, 0)]
    assert revoke_calls(sandbox) == 4
    assert grant(sandbox)["status"] == "revoked"
    assert kit.retry_pending_revocations().revoked == 0  # nothing left
    assert events(kit).count("revoke_queued") == 3 and events(kit)[-1] == "revoked"


def test_queued_revocation_is_not_retried_before_it_is_due(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-10: the queue backs off: an immediate second pass makes no request."""
    kit = kits()
    install(kit, sandbox)
    sandbox.add_fault(**REVOKE, status=503, retry_after=600)
    kit.disconnect("acme")
    report = kit.retry_pending_revocations()
    assert (report.revoked, report.retrying, report.abandoned) == (0, 0, 0)
    assert revoke_calls(sandbox) == 1


def test_refresh_due_retries_queued_revocations(
    kits: KitFactory, sandbox: SandboxControl, tmp_path: Path
) -> None:
    """REL-10: the refresh-due cron job also works through the revocation queue."""
    kit = kits()
    install(kit, sandbox)
    sandbox.add_fault(**REVOKE, status=503)
    kit.disconnect("acme")
    with kit.engine.begin() as conn:  # age the queue entry, as time would
        conn.execute(
            update(pending_revocations).values(
                next_attempt_at=kit.clock.now() - timedelta(seconds=1)
            )
        )
    command = Path(sys.executable).with_name("gorgias-appkit")
    env = {**os.environ, **kits.env, "GORGIAS_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(command), "refresh-due"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "revocations: revoked 1, retrying 0, abandoned 0" in result.stdout
    assert grant(sandbox)["status"] == "revoked"


def test_revoking_an_already_revoked_token_is_fine(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-10: the merchant uninstalled in Gorgias first: our revoke still gets 200, no queue."""
    kit = kits()
    install(kit, sandbox)
    sandbox.revoke_account("acme")
    kit.disconnect("acme")
    assert revoke_calls(sandbox) == 1
    assert events(kit)[-1] == "revoked"
    assert kit.retry_pending_revocations().revoked == 0


def test_disconnect_during_an_inflight_refresh_cannot_resurrect_tokens(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """REL-10: disconnect waits for the refresh's lock, then revokes the token it stored."""
    sandbox.configure(rotate_refresh_tokens=True, access_token_ttl=60)
    refresher, web = kits(), kits()  # two app instances sharing the database
    install(refresher, sandbox)
    sandbox.configure(access_token_ttl=86400)
    sandbox.add_fault(path="/oauth/token", grant_type="refresh_token", mode="delay", delay_ms=1500)
    refreshed: list[str] = []
    waited: list[float] = []

    def refresh() -> None:
        refreshed.append(refresher.access_token_for("acme"))

    def disconnect() -> None:
        time.sleep(0.4)  # the refresh is in flight
        started = time.monotonic()
        web.disconnect("acme")
        waited.append(time.monotonic() - started)

    threads = [threading.Thread(target=refresh), threading.Thread(target=disconnect)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(refreshed) == 1 and waited[0] >= 0.8  # disconnect waited for the lock
    assert refresh_calls(sandbox) == 1
    installation = web.installation("acme")
    assert installation.status is InstallStatus.UNINSTALLED and installation.tokens is None
    (only,) = sandbox.grants("acme")
    assert only["status"] == "revoked" and only["revoked_reason"] == "revoked_by_client"
    assert [t["status"] for t in only["refresh_tokens"]] == ["superseded", "revoked"]
    with pytest.raises(InstallationUnavailable):
        refresher.access_token_for("acme")
    assert refresh_calls(sandbox) == 1


def test_reinstall_after_disconnect_reruns_the_install_hook(
    kits: KitFactory, sandbox: SandboxControl
) -> None:
    """Reinstalling after a disconnect works and runs the "installed" hook again."""
    kit = kits()
    installed: list[str] = []
    disconnected: list[str | None] = []
    kit.hooks.on("installed", lambda e: installed.append(e.installation.status.value))
    kit.hooks.on("disconnected", lambda e: disconnected.append(e.previous_status))
    install(kit, sandbox)
    kit.disconnect("acme")
    install(kit, sandbox)
    assert installed == ["active", "active"]
    assert disconnected == ["active"]
    assert kit.installation("acme").status is InstallStatus.ACTIVE
    assert [g["status"] for g in sandbox.grants("acme")] == ["revoked", "active"]
    assert kit.client_for("acme").get("/account")["domain"] == "acme"


# -- the web page ------------------------------------------------------------------------------
def csrf_from_dashboard(client: FlaskClient) -> str:
    page = client.get("/accounts/acme").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the dashboard has a disconnect form"
    return match.group(1)


def test_disconnect_post_without_csrf_token_is_refused(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-10/REL-10: a POST without the CSRF token gets 403 and revokes nothing."""
    installer.install("acme")
    csrf_from_dashboard(client)
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post("/accounts/acme/disconnect", data=form)
        assert response.status_code == 403
    assert revoke_calls(sandbox) == 0
    assert grant(sandbox)["status"] == "active"
    assert app.extensions["gorgias_appkit"].installation("acme").status is InstallStatus.ACTIVE


def test_disconnect_post_revokes_and_offers_to_reconnect(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """REL-10: with its CSRF token the POST revokes at the sandbox and offers a reinstall."""
    installer.install("acme")
    response = client.post(
        "/accounts/acme/disconnect", data={"csrf_token": csrf_from_dashboard(client)}
    )
    assert response.status_code == 303  # post/redirect/get (issue 13): a reload posts nothing
    assert response.headers["Location"] == "/disconnected/acme"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert client.get(response.headers["Location"]).status_code == 200  # reloading is harmless
    html = page.get_data(as_text=True)
    assert "acme is disconnected" in html
    assert "/oauth/install?account=acme" in html
    assert revoke_calls(sandbox) == 1
    assert grant(sandbox)["status"] == "revoked"
    kit = app.extensions["gorgias_appkit"]
    assert kit.installation("acme").status is InstallStatus.UNINSTALLED
    dashboard = client.get("/accounts/acme")
    assert dashboard.status_code == 403  # this browser no longer holds acme
    assert "reconnect" in dashboard.get_data(as_text=True).lower()
    assert 'id="tickets"' not in dashboard.get_data(as_text=True)
