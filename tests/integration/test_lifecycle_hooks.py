"""Issue 6: lifecycle hooks, the ledger of created objects, and a disconnect that leaves nothing."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import InstallStatus
from gorgias_appkit import Kit
from gorgias_appkit import LifecycleEvent
from gorgias_appkit.errors import CleanupIncomplete
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import APP_URL
from ..conftest import kit_env

README = Path(__file__).parents[2] / "README.md"
# The reference app declares one data integration, one event integration on three triggers (one
# Gorgias integration each) and one widget (starter/integrations.py).
INTEGRATIONS, WIDGETS = 4, 1
OBJECTS = INTEGRATIONS + WIDGETS


def kit_of(app: Flask) -> Kit:
    kit = app.extensions["gorgias_appkit"]
    assert isinstance(kit, Kit)
    return kit


def counts(sandbox: SandboxControl, account: str = "acme") -> tuple[int, int]:
    objects = sandbox.objects(account)
    return len(objects["integrations"]), len(objects["widgets"])


def grant_statuses(sandbox: SandboxControl, account: str = "acme") -> list[str]:
    return [g["status"] for g in sandbox.grants(account)]


def test_install_creates_the_declared_integrations_and_widget_and_records_them(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """The reference app's declarations become HTTP integrations and a ticket widget, recorded."""
    installer.install("acme")
    objects = sandbox.objects("acme")
    (widget,) = objects["widgets"]
    urls = {i["http"]["url"]: i for i in objects["integrations"]}
    data = urls[f"{APP_URL}/gorgias/inbound/acme/customer-tickets"]
    assert len(urls) == INTEGRATIONS
    assert f"{APP_URL}/gorgias/inbound/acme/ticket-activity/ticket-status-updated" in urls
    assert all(i["type"] == "http" for i in urls.values())
    assert widget["context"] == "ticket"
    assert widget["integration_id"] == data["id"]
    live = {(e.kind, e.remote_id) for e in kit_of(app).objects.live("acme")}
    assert live == {("integrations", str(i["id"])) for i in urls.values()} | {
        ("widgets", str(widget["id"]))
    }


def test_reinstall_creates_no_duplicates(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """Installing twice updates the recorded objects in place instead of adding new ones."""
    installer.install("acme")
    first = sandbox.objects("acme")
    installer.install("acme")
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)
    assert sandbox.objects("acme")["widgets"][0]["id"] == first["widgets"][0]["id"]
    assert len(kit_of(app).objects.live("acme")) == OBJECTS


def test_reinstall_recreates_an_object_the_merchant_deleted(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """A recorded widget that is gone (404) is created again and the ledger follows."""
    installer.install("acme")
    kit = kit_of(app)
    (widget,) = sandbox.objects("acme")["widgets"]
    kit.client_for("acme").delete(f"/widgets/{widget['id']}")
    installer.install("acme")
    (again,) = sandbox.objects("acme")["widgets"]
    assert again["id"] != widget["id"]
    kinds = sorted((e.kind, e.live) for e in kit.ledger.entries("acme"))
    assert kinds == [("integrations", True)] * INTEGRATIONS + [
        ("widgets", False),
        ("widgets", True),
    ]


def test_disconnect_removes_every_object_then_revokes(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """Nothing the app created is left in the account, and the grant is revoked."""
    installer.install("acme")
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)
    kit = kit_of(app)
    installation = kit.disconnect("acme").installation
    assert counts(sandbox) == (0, 0)
    assert grant_statuses(sandbox) == ["revoked"]
    assert installation.status is InstallStatus.UNINSTALLED
    assert installation.tokens is None
    assert kit.objects.live("acme") == []


def test_disconnect_counts_a_404_as_removed(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """An object the merchant already deleted does not stop the clean-up."""
    installer.install("acme")
    kit = kit_of(app)
    (widget,) = sandbox.objects("acme")["widgets"]
    kit.client_for("acme").delete(f"/widgets/{widget['id']}")  # the merchant removed the card
    report = kit.objects.remove_all("acme")
    assert (report.removed, report.already_gone) == (INTEGRATIONS, 1)
    assert counts(sandbox) == (0, 0)


def test_interrupted_cleanup_keeps_the_install_and_resumes(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """A 503 past the retries stops disconnect with nothing revoked; the next one finishes."""
    installer.install("acme")
    kit = kit_of(app)
    sandbox.add_fault(
        path="/api/widgets/*", method="DELETE", mode="status", status=503, retry_after=0, count=5
    )
    with pytest.raises(CleanupIncomplete) as failure:
        kit.disconnect("acme")
    assert failure.value.remaining == OBJECTS
    assert "disconnect again" in str(failure.value)
    installation = kit.installation("acme")
    assert installation is not None and installation.status is InstallStatus.ACTIVE
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)
    assert grant_statuses(sandbox) == ["active"]
    assert len(kit.objects.live("acme")) == OBJECTS

    kit.disconnect("acme")
    assert counts(sandbox) == (0, 0)
    assert grant_statuses(sandbox) == ["revoked"]
    assert kit.objects.live("acme") == []


def test_partial_cleanup_resumes_with_what_is_left(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """When the widget is gone but the integration deletes fail, only the integrations are left."""
    installer.install("acme")
    kit = kit_of(app)
    sandbox.add_fault(
        path="/api/integrations/*",
        method="DELETE",
        mode="status",
        status=503,
        retry_after=0,
        count=5,
    )
    with pytest.raises(CleanupIncomplete) as failure:
        kit.disconnect("acme")
    assert failure.value.remaining == INTEGRATIONS
    assert counts(sandbox) == (INTEGRATIONS, 0)
    assert [e.kind for e in kit.objects.live("acme")] == ["integrations"] * INTEGRATIONS
    kit.disconnect("acme")
    assert counts(sandbox) == (0, 0)


def test_disconnect_after_lost_access_keeps_the_ledger_for_a_reinstall(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """Without a working token nothing can be removed; a reinstall adopts what is left."""
    installer.install("acme")
    kit = kit_of(app)
    sandbox.revoke_account("acme")  # the merchant uninstalled in Gorgias
    with pytest.raises(InstallationUnavailable):
        kit.refresh_now("acme")
    assert kit.installation("acme").status is InstallStatus.UNINSTALLED  # inferred (issue 11)
    kit.disconnect("acme")
    assert kit.installation("acme").status is InstallStatus.UNINSTALLED
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)
    assert len(kit.objects.live("acme")) == OBJECTS
    installer.install("acme")
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)
    kit.disconnect("acme")
    assert counts(sandbox) == (0, 0)


def test_hooks_see_every_lifecycle_event(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """installed, reinstalled, health_changed, uninstalled, disconnected reach hooks in order."""
    kit = kit_of(app)
    seen: list[tuple[str, str]] = []

    def remember(event: LifecycleEvent) -> None:
        seen.append((event.event.value, event.installation.status.value))

    for name in ("installed", "reinstalled", "health_changed", "uninstalled", "disconnected"):
        kit.hooks.on(name, remember)
    installer.install("acme")
    installer.install("acme")
    sandbox.revoke_account("acme")
    with pytest.raises(InstallationUnavailable):
        kit.refresh_now("acme")
    installer.install("acme")  # after an uninstall, installing is new again
    kit.disconnect("acme")
    assert seen == [
        ("installed", "active"),
        ("reinstalled", "active"),
        ("health_changed", "uninstalled"),
        ("uninstalled", "uninstalled"),
        ("installed", "active"),
        ("health_changed", "uninstalled"),
        ("disconnected", "uninstalled"),
    ]


def test_a_failing_install_hook_does_not_fail_the_install(
    installer: InstallDriver, sandbox: SandboxControl, app: Flask
) -> None:
    """If creating the objects fails, the merchant is still installed and a reinstall retries."""
    sandbox.add_fault(path="/api/widgets", method="POST", mode="status", status=400, count=1)
    response = installer.install("acme")
    assert response.status_code == 303
    assert counts(sandbox) == (INTEGRATIONS, 0)
    installer.install("acme")
    assert counts(sandbox) == (INTEGRATIONS, WIDGETS)


def test_the_integration_endpoint_needs_the_account_key(
    installer: InstallDriver, sandbox: SandboxControl, client: FlaskClient
) -> None:
    """Gorgias calls the app with the key stored in the integration; anyone else gets 401."""
    installer.install("acme")
    (integration,) = [
        i for i in sandbox.objects("acme")["integrations"] if "customer-tickets" in i["http"]["url"]
    ]
    url = integration["http"]["url"].removeprefix(APP_URL)
    body = {"ticket_id": "42"}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"X-Appkit-Key": "0" * 43}).status_code == 401
    answer = client.post(url, json=body, headers=integration["http"]["headers"])
    assert answer.status_code == 200
    assert answer.get_json() == {"customer": "", "open": 0, "total": 0, "tickets": []}


def test_lifecycle_logs_carry_account_event_and_fingerprint_never_a_token(
    installer: InstallDriver, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """One structured record per event; the token appears only as its fingerprint."""
    caplog.set_level(logging.INFO)
    installer.install("acme")
    kit = kit_of(app)
    token = kit.installation("acme").tokens.access_token
    kit.disconnect("acme")
    events = {getattr(r, "event", None): r for r in caplog.records}
    for name in ("object_created", "object_removed", "disconnected"):
        assert getattr(events[name], "account", None) == "acme"
    assert events["disconnected"].token_fp == token.fingerprint()
    assert not any(token.reveal() in r.getMessage() for r in caplog.records)
    assert not any(token.reveal() in str(r.__dict__) for r in caplog.records)


def readme_example() -> str:
    """The README's 'build your own app on it' snippet."""
    text = README.read_text()
    section = text[text.index("## Build your own app on it") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_readme_example_runs_with_its_custom_hook(
    sandbox: SandboxControl, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's custom Flask app installs, its hook adds a widget, disconnect removes it."""
    for name, value in kit_env(sandbox.base_url, sqlite_url).items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - our README
    app, kit = namespace["app"], namespace["kit"]
    client = app.test_client()
    installer = InstallDriver(client)
    try:
        assert installer.install("acme").headers["Location"] == "/accounts/acme"
        assert counts(sandbox) == (0, 1)
        assert client.get("/accounts/acme").get_json()["domain"] == "acme"
        assert app.test_client().get("/accounts/acme").status_code == 403
        kit.disconnect("acme")
        assert counts(sandbox) == (0, 0)
    finally:
        installer.close()
        kit.close()
