"""Issue 9, item 11: stored or remote text is printed literally, never as terminal markup.

An ``error_description`` from Gorgias holding rich markup used to render as a hidden link in
`installs show`, and a bare ``[/]`` crashed it. Every command that prints with rich must show
such text as it is, and neutralise control characters (ANSI escape sequences, BEL, CR).
"""

from __future__ import annotations

import json

from click.testing import CliRunner
from click.testing import Result
from flask import Flask

from gorgias_appkit import Kit
from gorgias_appkit.cli import main
from gorgias_appkit.core.account import Account
from gorgias_appkit.core.records import InstallUpdate
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

MARKUP = "[/] [link=https://evil.example]x[/link] [bold red]loud[/bold red]"
CONTROL = (
    "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b]8;;https://evil.example\x1b\\y\x1b]8;;\x1b\\ \rover"
)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def kit_of(app: Flask) -> Kit:
    return app.extensions["gorgias_appkit"]  # type: ignore[no-any-return]


def store_hostile_history(kit: Kit, account: str = "acme") -> None:
    """A history line holding markup and control sequences (as any writer could leave)."""
    with kit.store.locked(Account(account)) as row:
        row.apply(InstallUpdate(event="note", detail=f"{MARKUP} {CONTROL}"))


def refused_refresh(sandbox: SandboxControl, env: dict[str, str]) -> None:
    """Gorgias refuses a refresh with markup in its error_description; it is stored."""
    sandbox.add_fault(
        path="/oauth/token",
        grant_type="refresh_token",
        mode="status",
        status=400,
        body={"error": "invalid_request", "error_description": MARKUP},
    )
    assert run(env, "installs", "refresh", "acme").exit_code == 1


def assert_literal(output: str) -> None:
    assert "[link=https://evil.example]x[/link]" in output
    assert "[/]" in output and "[bold red]loud[/bold red]" in output
    for char in ("\x1b", "\x07", "\r"):
        assert char not in output


def test_item11_installs_show_prints_markup_literally(
    installer: InstallDriver, app_config: dict[str, str], app: Flask, sandbox: SandboxControl
) -> None:
    """last_error with markup and a history line with escapes: shown as text, no crash."""
    installer.install("acme")
    refused_refresh(sandbox, app_config)
    assert MARKUP in (kit_of(app).installation("acme").last_error or "")
    store_hostile_history(kit_of(app))
    result = run(app_config, "installs", "show", "acme")
    assert result.exit_code == 0, result.output
    assert_literal(result.output)
    data = json.loads(run(app_config, "installs", "show", "acme", "--json").stdout)
    assert data["history"][0]["detail"] == f"{MARKUP} {CONTROL}"  # JSON keeps the exact value


def test_item11_installs_list_and_refresh_due_survive_hostile_rows(
    installer: InstallDriver, app_config: dict[str, str], app: Flask, sandbox: SandboxControl
) -> None:
    """The other table commands print the same rows without crashing or emitting escapes."""
    installer.install("acme")
    refused_refresh(sandbox, app_config)
    store_hostile_history(kit_of(app))
    listed = run(app_config, "installs", "list")
    assert listed.exit_code == 0, listed.output
    assert "acme" in listed.output and "\x1b" not in listed.output
    due = run(app_config, "refresh-due", "--within", "999999999")
    assert "\x1b" not in due.output and "Traceback" not in due.output


def test_item11_doctor_prints_configured_values_literally(app_config: dict[str, str]) -> None:
    """A setting holding markup (here the app URL's path) is echoed as text by doctor."""
    env = {**app_config, "GORGIAS_APP_URL": f"https://app.example.com/{MARKUP.replace(' ', '')}"}
    result = run(env, "doctor")
    assert "Traceback" not in result.output
    assert "[link=https://evil.example]x[/link]" in result.output
