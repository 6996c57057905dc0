"""A row the configured keys cannot open is a configuration error, never an uninstall.

Issue 9, item 5: ``keys rotate`` ran with ``NEW,OLD`` while the web app still had only ``OLD``.
The app must answer 503, log the key id loudly, leave health and history untouched, change
nothing on a read, refuse a disconnect it cannot carry out, and recover by itself once the
right keys are back.
"""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InstallStatus
from gorgias_appkit import Kit
from gorgias_appkit import Secret
from gorgias_appkit.cli import main
from gorgias_appkit.starter import create_app
from gorgias_appkit.store.crypto import Keyring
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def old_keys_only(env: dict[str, str]) -> dict[str, str]:
    """The same settings with only the key the rotation replaced."""
    return {**env, "GORGIAS_ENCRYPTION_KEYS": env["GORGIAS_ENCRYPTION_KEYS"].split(",")[1]}


def kit_of(app: Flask) -> Kit:
    return app.extensions["gorgias_appkit"]  # type: ignore[no-any-return]


@pytest.fixture
def rotated(
    installer: InstallDriver, app: Flask, app_config: dict[str, str], sandbox: SandboxControl
) -> dict[str, str]:
    """acme installed under OLD, then resealed under NEW by a CLI the web app does not share."""
    assert installer.install("acme").status_code == 303
    old = app_config["GORGIAS_ENCRYPTION_KEYS"]
    both = {**app_config, "GORGIAS_ENCRYPTION_KEYS": f"{generate_key()},{old}"}
    code, output = cli(both, "keys", "rotate")
    assert code == 0, output
    # The web process still holds the token it read during the install for up to
    # GORGIAS_TOKEN_CACHE_SECONDS (issue 12); these tests look at what it does after that.
    kit_of(app).token_cache.forget()
    return both


def test_unreadable_row_answers_503_and_changes_nothing(
    rotated: dict[str, str], client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """The dashboard says "try again later" (503); health, history and the row stay as they were."""
    kit = kit_of(app)
    history = kit.history("acme")
    caplog.set_level(logging.WARNING)
    page = client.get("/accounts/acme")
    assert page.status_code == 503
    assert page.headers.get("Retry-After")
    text = page.get_data(as_text=True)
    assert "temporarily unavailable" in text and "reconnect" not in text.lower()
    installation = kit.installation("acme")
    assert installation is not None
    assert installation.status is InstallStatus.ACTIVE
    assert kit.history("acme") == history  # no needs_reauth -> needs_reauth, no event at all
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR and "key" in r.getMessage()]
    assert loud, "the operator must be told which key is missing"
    assert all("v1." not in r.getMessage() for r in caplog.records)


def test_read_only_commands_change_nothing(rotated: dict[str, str], app: Flask) -> None:
    """``installs show`` and ``installs list`` under the wrong keys write nothing."""
    kit = kit_of(app)
    env_old = old_keys_only(rotated)
    history = kit.history("acme")
    cli(env_old, "installs", "show", "acme")
    cli(env_old, "installs", "list")
    assert kit.history("acme") == history
    assert kit.installation("acme").status is InstallStatus.ACTIVE  # type: ignore[union-attr]


def test_disconnect_with_the_wrong_keys_is_refused_not_skipped(
    rotated: dict[str, str], app: Flask, sandbox: SandboxControl
) -> None:
    """A disconnect that cannot open the tokens refuses; it never drops them unrevoked."""
    kit = kit_of(app)
    env_old = old_keys_only(rotated)
    code, output = cli(env_old, "installs", "disconnect", "acme", "--yes")
    assert code == 1
    assert "key" in output.lower()
    assert kit.installation("acme").status is InstallStatus.ACTIVE  # type: ignore[union-attr]
    objects = sandbox.objects("acme")
    assert len(objects["integrations"]) == 4 and len(objects["widgets"]) == 1  # left in place


def test_doctor_lists_rows_under_unconfigured_key_ids(rotated: dict[str, str]) -> None:
    """``doctor`` names the key ids rows were sealed with that the configuration lacks."""
    env_old = old_keys_only(rotated)
    code, output = cli(env_old, "doctor", "--json")
    assert code == 1
    new_key = rotated["GORGIAS_ENCRYPTION_KEYS"].split(",")[0]
    assert Keyring([Secret(new_key)]).current_kid in output


def test_recovers_by_itself_when_the_key_is_back(
    rotated: dict[str, str], client: FlaskClient, sandbox: SandboxControl
) -> None:
    """The same app restarted with NEW,OLD serves acme again: nothing had to be repaired."""
    assert client.get("/accounts/acme").status_code == 503  # seen with only OLD first
    app = create_app({**rotated, "TESTING": True})
    try:
        kit = kit_of(app)
        assert kit.installation("acme").status is InstallStatus.ACTIVE  # type: ignore[union-attr]
        assert kit.access_token_for("acme")
        assert not [e for e in kit.history("acme") if e.to_status == "needs_reauth"]
    finally:
        kit_of(app).close()
