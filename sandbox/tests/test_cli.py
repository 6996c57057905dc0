"""The gorgias-sandbox command: config merging, --help, the banner of a real process."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from gorgias_sandbox import SandboxConfig
from gorgias_sandbox.cli import build_config, command
from gorgias_sandbox.config_help import FIELD_HELP
from gorgias_sandbox.faults import MODES


def test_every_config_field_has_one_line_of_help() -> None:
    """FIELD_HELP describes exactly the SandboxConfig fields, each in one non-empty line."""
    fields = [f.name for f in dataclasses.fields(SandboxConfig)]
    assert sorted(FIELD_HELP) == sorted(fields)
    assert all(text.strip() and "\n" not in text for text in FIELD_HELP.values())


def test_help_lists_every_environment_switch() -> None:
    """--help names every SANDBOX_<FIELD> variable with its default."""
    result = CliRunner().invoke(command, ["--help"], prog_name="gorgias-sandbox")
    assert result.exit_code == 0, result.output
    for field in dataclasses.fields(SandboxConfig):
        assert f"SANDBOX_{field.name.upper()}  (default: " in result.output
    for option in ("--host", "--port", "--redirect-uri", "--client-id", "--account", "--quiet"):
        assert option in result.output
    assert "(default: 8800)" not in result.output and "[default: 8800]" in result.output


def test_command_can_join_another_click_group() -> None:
    """Another CLI can mount the command, e.g. as `gorgias-appkit sandbox`."""
    group = click.Group("gorgias-appkit")
    group.add_command(command)
    result = CliRunner().invoke(group, ["sandbox", "--help"])
    assert result.exit_code == 0 and "SANDBOX_INTEGRATION_TIMEOUT" in result.output


def test_command_line_values_win_over_the_environment() -> None:
    """Options override SANDBOX_* variables; --redirect-uri adds, --account replaces."""
    env = {
        "SANDBOX_CLIENT_ID": "env-id",
        "SANDBOX_CLIENT_SECRET": "env-secret",
        "SANDBOX_REDIRECT_URIS": "http://127.0.0.1:1/cb",
        "SANDBOX_ACCOUNTS": "one,two",
        "SANDBOX_ROTATE_REFRESH_TOKENS": "on",
    }
    config = build_config(
        env,
        client_id="cli-id",
        redirect_uris=["https://app.example.com/cb", "http://127.0.0.1:1/cb"],
        accounts=["three"],
    )
    assert config.client_id == "cli-id" and config.client_secret == "env-secret"
    assert config.redirect_uris == ("http://127.0.0.1:1/cb", "https://app.example.com/cb")
    assert config.accounts == ("three",) and config.rotate_refresh_tokens is True
    assert build_config({}) == SandboxConfig()


def test_bad_values_are_named() -> None:
    """A bad variable or a bad option fails with a message naming it."""
    with pytest.raises(ValueError, match="SANDBOX_RATE_LIMIT"):
        build_config({"SANDBOX_RATE_LIMIT": "lots"})
    with pytest.raises(ValueError, match="Not Valid"):
        build_config({}, accounts=["Not Valid"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_banner(proc: subprocess.Popen[str], within: float = 20.0) -> str:
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl+C"):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(within)
    assert lines and lines[-1].startswith("Press Ctrl+C"), f"no banner; got {lines!r}"
    return "".join(lines)


@pytest.fixture
def cli_sandbox() -> Iterator[tuple[str, str]]:
    """A real `python -m gorgias_sandbox` process on a free port: (root URL, banner)."""
    port = _free_port()
    env = {**os.environ, "SANDBOX_CLIENT_ID": "env-id", "SANDBOX_CLIENT_SECRET": "env-secret"}
    args = [sys.executable, "-m", "gorgias_sandbox", "--port", str(port), "--quiet"]
    args += ["--client-id", "cli-id", "--redirect-uri", "https://app.example.com/cb"]
    args += ["--account", "hooli", "--account", "acme"]
    with subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            yield f"http://127.0.0.1:{port}", _read_banner(proc)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_banner_of_a_running_sandbox(cli_sandbox: tuple[str, str]) -> None:
    """The banner shows base URL, accounts, client id and secret, redirect URIs, control, pages."""
    url, text = cli_sandbox
    assert f"{url}/{{account}}" in text and "hooli, acme" in text
    assert "cli-id" in text and "env-secret" in text
    assert "http://127.0.0.1:8000/oauth/callback" in text
    assert "https://app.example.com/cb" in text and "any loopback callback" in text
    assert f"{url}/_sandbox/" in text and f"{url}/hooli/tickets" in text
    config = httpx.get(f"{url}/_sandbox/config", timeout=5).json()
    assert config["client_id"] == "cli-id" and config["client_secret"] == "env-secret"
    assert config["accounts"] == ["hooli", "acme"]


def test_readme_documents_every_switch_and_fault_mode() -> None:
    """The README's tables name every SANDBOX_* variable and every fault mode."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for field in dataclasses.fields(SandboxConfig):
        assert f"| `SANDBOX_{field.name.upper()}` |" in readme
    for mode in MODES:
        assert f"| `{mode}` |" in readme
