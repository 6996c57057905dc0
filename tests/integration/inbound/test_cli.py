"""Issue 11 on the command line: `worker` in its own process, `installs sync`, `doctor`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gorgias_appkit import Account
from gorgias_appkit import Kit
from gorgias_appkit.cli.servers import ThreadedServer
from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ...conftest import kit_env

EXE = str(Path(sys.executable).with_name("gorgias-appkit"))
V2 = """
from gorgias_appkit.inbound import Integrations
from gorgias_appkit.starter.integrations import integrations as v1

integrations = Integrations()  # version 2 drops the event integration
integrations.add(v1.data["customer-tickets"])
integrations.add(v1.widgets["customer-tickets"])
"""
BROKEN = """
from gorgias_appkit.inbound import Integrations, card, text, wrapper

integrations = Integrations()
integrations.data_handler("orders", sample={"total": 1})(lambda call: {"total": 1})
integrations.widget("orders", integration="orders",
                    template=wrapper(card("Orders", text("Last order", "last.id"))))
"""


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command the way an operator would."""
    return subprocess.run(  # noqa: S603 - our own console script
        [EXE, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def reference(
    sandbox: SandboxControl, database_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The reference app on a real socket, acme installed; yields its environment."""
    sandbox.configure(redirect_uri_match="loopback")
    server = ThreadedServer(lambda e, s: holder["app"](e, s)).start()
    env = {
        **kit_env(sandbox.base_url, database_url),
        "GORGIAS_APP_URL": server.url,
        "GORGIAS_INSTANCE_PATH": str(tmp_path),
        "PYTHONPATH": str(tmp_path),
    }
    holder = {"app": create_app({**env, "TESTING": True})}
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        driver = InstallDriver(browser)
        assert driver.install("acme").status_code == 303
        driver.close()
    yield env
    sandbox.wait_for_deliveries(20)
    server.stop()
    holder["app"].extensions["gorgias_appkit"].close()


def test_the_worker_command_runs_events_and_stops_cleanly(
    reference: dict[str, str], sandbox: SandboxControl
) -> None:
    """`gorgias-appkit worker` in its own process runs the reference app's event handler."""
    worker = subprocess.Popen(  # noqa: S603 - our own console script
        [EXE, "worker", "--threads", "2", "--no-periodic"],
        env={**os.environ, **reference},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    kit = Kit.from_env(reference)
    try:
        ticket = kit.client_for("acme").latest_tickets(1)[0]["id"]
        sandbox.fire_event("acme", ticket, "ticket-created")
        sandbox.wait_for_deliveries(20)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            events = kit.inbound.latest_events("acme")
            if events and events[0].status.value == "done":
                break
            time.sleep(0.1)
        assert [(e.trigger, e.status.value) for e in events] == [("ticket-created", "done")]
    finally:
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=30)[0].decode()
        kit.close()
    assert worker.returncode == 0, output
    assert "worker: 2 thread(s) on the" in output and "Traceback" not in output


def test_installs_sync_follows_a_new_app_version(
    reference: dict[str, str], sandbox: SandboxControl, tmp_path: Path
) -> None:
    """A version that drops an integration: `installs sync` deletes it, keeps the rest."""
    (tmp_path / "app_v2.py").write_text(V2)
    before = sandbox.objects("acme")
    assert len(before["integrations"]) == 4
    result = cli(reference, "installs", "sync", "acme", "--integrations", "app_v2:integrations")
    assert result.returncode == 0, result.stderr
    assert "acme: 2 object(s) in place, 3 removed" in result.stdout
    after = sandbox.objects("acme")
    assert [i["id"] for i in after["integrations"]] == [
        i["id"] for i in before["integrations"] if i["http"]["url"].endswith("/customer-tickets")
    ]
    assert [w["id"] for w in after["widgets"]] == [w["id"] for w in before["widgets"]]
    shown = json.loads(cli(reference, "installs", "show", "acme", "--json").stdout)
    assert sum(e["deleted_at"] is not None for e in shown["ledger"]) == 3


def test_doctor_fails_on_a_widget_path_missing_from_the_sample(
    reference: dict[str, str], tmp_path: Path
) -> None:
    """`doctor` checks the widget contract: a missing path is a failure naming it."""
    (tmp_path / "broken_app.py").write_text(BROKEN)
    good = cli(reference, "doctor", "--json")
    assert {"check": "integrations", "level": "ok"}.items() <= next(
        f for f in json.loads(good.stdout)["findings"] if f["check"] == "integrations"
    ).items()
    bad = cli(reference, "doctor", "--json", "--integrations", "broken_app:integrations")
    assert bad.returncode == 1
    (finding,) = [f for f in json.loads(bad.stdout)["findings"] if f["check"] == "integrations"]
    assert finding["level"] == "fail"
    assert "reads 'last.id', which is not in the sample answer" in finding["message"]


def test_installs_repair_and_show_report_the_100_failure_rule(
    reference: dict[str, str], sandbox: SandboxControl
) -> None:
    """`installs show` says at risk; `installs repair` reactivates what Gorgias turned off."""
    sandbox.configure(integration_failure_limit=2)
    kit = Kit.from_env(reference)
    try:
        kit.inbound.keys.issue(Account("acme"))  # a key Gorgias never received: every call 401
        ticket = kit.client_for("acme").latest_tickets(1)[0]["id"]
        for _ in range(2):
            sandbox.fire_event("acme", ticket, "ticket-updated")
            sandbox.wait_for_deliveries(20)
    finally:
        kit.close()
    env = {**reference, "GORGIAS_INBOUND_AT_RISK": "2"}
    shown = json.loads(cli(env, "installs", "show", "acme", "--json").stdout)
    (health,) = [h for h in shown["integrations"] if h["integration"] == "customer-tickets"]
    assert (health["state"], health["consecutive_failures"]) == ("at risk", 2)
    text = cli(env, "installs", "show", "acme").stdout
    assert "Gorgias deactivates one after 100" in text and "at risk" in text
    repaired = cli(reference, "installs", "repair", "acme")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "acme customer-tickets: reactivated" in repaired.stdout
    assert all(s["active"] for s in sandbox.integration_states("acme"))
