"""An install that fails after the code exchange leaves no live grant behind.

Issue 9, item 6: once the code is exchanged, Gorgias has issued tokens. If the install then
stops (the account confirmation fails, the id_token is refused), the kit revokes what it was
given, or queues the revocation when Gorgias is down; an upstream 5xx is a 502 page.
"""

from __future__ import annotations

import pytest
from flask import Flask

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl


def kit_of(app: Flask):
    return app.extensions["gorgias_appkit"]


def grant_statuses(sandbox: SandboxControl) -> list[str]:
    return [g["status"] for g in sandbox.grants("acme")]


def test_confirmation_5xx_is_a_502_page_and_the_grant_is_revoked(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """``GET /api/account`` failing with 500s: 502 (not "account mismatch"), grant revoked."""
    sandbox.add_fault(path="/api/account", mode="status", status=500, count=-1)
    response = installer.install("acme")
    assert response.status_code == 502
    assert "account_mismatch" not in response.get_data(as_text=True)
    assert kit_of(app).installation("acme") is None
    assert grant_statuses(sandbox) == ["revoked"]
    assert sandbox.count("acme", "oauth.revoke") >= 1


def test_refused_id_token_revokes_the_grant(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """An id_token with the wrong nonce: the install is refused and its tokens revoked."""
    sandbox.configure(id_token_tamper="bad_nonce")
    response = installer.install("acme")
    assert response.status_code == 400
    assert kit_of(app).installation("acme") is None
    assert grant_statuses(sandbox) == ["revoked"]


def test_revocation_is_queued_when_gorgias_is_down_and_retried_later(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Confirmation and revocation both failing: the revocation is queued, then done later."""
    sandbox.add_fault(path="/api/account", mode="status", status=500, count=-1)
    sandbox.add_fault(path="/oauth/revoke", mode="status", status=503, count=1)
    assert installer.install("acme").status_code == 502
    assert grant_statuses(sandbox) == ["active"]  # not revoked yet: Gorgias answered 503
    clock = OffsetClock()
    later = Kit(KitSettings.from_mapping(app_config), clock=clock)  # the worker, an hour later
    try:
        clock.advance(3600)
        assert later.retry_pending_revocations().revoked == 1
    finally:
        later.close()
    assert grant_statuses(sandbox) == ["revoked"]


@pytest.mark.parametrize("status", [401, 403])
def test_confirmation_refused_is_an_account_mismatch_and_revokes(
    status: int, installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """A 4xx from the confirmation means the tokens cannot see the account: 400, revoked."""
    sandbox.add_fault(path="/api/account", mode="status", status=status, count=-1)
    response = installer.install("acme")
    assert response.status_code == 400
    assert kit_of(app).installation("acme") is None
    assert grant_statuses(sandbox) == ["revoked"]
