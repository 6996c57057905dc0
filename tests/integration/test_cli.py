"""Issue 6: the operator CLI (`installs …`, `doctor`, `admin`) against the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from click.testing import Result
from flask import Flask
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from gorgias_appkit import Kit
from gorgias_appkit.cli import main
from gorgias_appkit.cli.preflight import Preflight
from gorgias_appkit.testing import OffsetClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def kit_of(app: Flask) -> Kit:
    return app.extensions["gorgias_appkit"]  # type: ignore[no-any-return]


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", commands(main), ids=lambda p: " ".join(p) or "main")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    """`--help` works on every command and group and describes it."""
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_installs_list_shows_a_table_and_json(
    installer: InstallDriver, app_config: dict[str, str]
) -> None:
    """Account, health, expiry, scopes and last refresh, for people and for scripts."""
    installer.install("acme")
    installer.install("globex")
    table = run(app_config, "installs", "list")
    assert table.exit_code == 0, table.output
    assert "acme" in table.output and "globex" in table.output
    assert "active" in table.output and "Token expires" in table.output
    rows = json.loads(run(app_config, "installs", "list", "--json").stdout)
    assert [r["account"] for r in rows] == ["acme", "globex"]
    assert rows[0]["health"] == "active" and "offline" in rows[0]["scopes"]
    assert rows[0]["expires_at"] and rows[0]["last_refresh_at"] is None
    none = run(app_config, "installs", "list", "--health", "needs_reauth", "--json")
    assert json.loads(none.stdout) == []


def test_installs_show_has_history_and_ledger(
    installer: InstallDriver, app_config: dict[str, str]
) -> None:
    """`show` adds the install history and the objects the app created."""
    installer.install("acme")
    data = json.loads(run(app_config, "installs", "show", "acme", "--json").stdout)
    assert data["account"] == "acme" and data["health"] == "active"
    assert [e["event"] for e in data["history"]] == ["installed"]
    assert sorted(e["kind"] for e in data["ledger"]) == ["integrations"] * 4 + ["widgets"]
    text = run(app_config, "installs", "show", "acme").output
    assert "History" in text and "ledger" in text and "widgets" in text


def test_installs_show_unknown_and_invalid_accounts(sqlite_config: dict[str, str]) -> None:
    """An unknown account exits 1 in plain words; a malformed one is a usage error."""
    assert run(sqlite_config, "db", "upgrade").exit_code == 0
    unknown = run(sqlite_config, "installs", "show", "nobody")
    assert unknown.exit_code == 1 and "no installation for 'nobody'" in unknown.output
    bad = run(sqlite_config, "installs", "show", "not a subdomain")
    assert bad.exit_code == 2 and "subdomain" in bad.output


def test_reading_commands_never_create_a_database(
    sqlite_config: dict[str, str], tmp_path: Path
) -> None:
    """A mistyped SQLite path is reported in one sentence (exit 1) and no file appears."""
    missing = tmp_path / "typo" / "kit.sqlite3"
    config = {**sqlite_config, "GORGIAS_DATABASE_URL": f"sqlite:///{missing}"}
    for args in (("installs", "list"), ("installs", "show", "acme"), ("refresh-due",)):
        result = run(config, *args)
        assert result.exit_code == 1, result.output
        assert "no database at" in result.output and "Traceback" not in result.output
    assert not missing.exists() and not missing.parent.exists()


def test_installs_refresh_forces_a_new_token(
    installer: InstallDriver, app_config: dict[str, str], app: Flask, sandbox: SandboxControl
) -> None:
    """`refresh` refreshes a token that is not due, once, and prints only a fingerprint."""
    installer.install("acme")
    before = kit_of(app).installation("acme").tokens.access_token
    result = run(app_config, "installs", "refresh", "acme", "--json")
    assert result.exit_code == 0, result.output
    after = kit_of(app).installation("acme").tokens.access_token
    assert after != before
    assert json.loads(result.stdout)["token_fingerprint"] == after.fingerprint()
    assert sandbox.count("acme", "oauth.token") == 2  # the code exchange, then one refresh
    assert after.reveal() not in result.output
    assert "Refreshed acme" in run(app_config, "installs", "refresh", "acme").output


def test_installs_refresh_of_a_revoked_install_says_reconnect(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """A refresh Gorgias refuses means the app was removed there: uninstalled, exit 1."""
    installer.install("acme")
    sandbox.revoke_account("acme")
    result = run(app_config, "installs", "refresh", "acme")
    assert result.exit_code == 1
    assert "uninstalled" in result.output and "reconnect" in result.output
    listed = json.loads(run(app_config, "installs", "list", "--json").stdout)
    assert listed[0]["health"] == "uninstalled"


def test_installs_disconnect_removes_objects_and_revokes(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """`disconnect --yes` leaves nothing in the account and revokes the grant."""
    installer.install("acme")
    result = run(app_config, "installs", "disconnect", "acme", "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["health"], data["objects_removed"], data["objects_left"]) == ("uninstalled", 5, 0)
    assert data["revocation"] == "revoked"
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}
    assert [g["status"] for g in sandbox.grants("acme")] == ["revoked"]


def test_installs_disconnect_says_when_the_revocation_is_only_queued(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Issue 13: Gorgias answering 503 to the revocation: "queued", never "access revoked"."""
    installer.install("acme")
    sandbox.add_fault(path="/oauth/revoke", mode="status", status=503, count=1)
    result = run(app_config, "installs", "disconnect", "acme", "--yes")
    assert result.exit_code == 0, result.output
    assert "access revoked" not in result.output
    assert "revocation is queued" in result.output
    assert [g["status"] for g in sandbox.grants("acme")] == ["active"]


def test_installs_disconnect_asks_first(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Without --yes the operator confirms; answering no changes nothing."""
    installer.install("acme")
    result = run(app_config, "installs", "disconnect", "acme", stdin="n\n")
    assert result.exit_code == 1 and "Remove 5 object(s)" in result.output
    assert len(sandbox.objects("acme")["widgets"]) == 1
    confirmed = run(app_config, "installs", "disconnect", "acme", stdin="y\n")
    assert "5 object(s) removed" in confirmed.output


def test_installs_disconnect_interrupted_exits_1_and_resumes(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """A clean-up that stops says so, revokes nothing, and the next run finishes it."""
    installer.install("acme")
    sandbox.add_fault(
        path="/api/widgets/*", method="DELETE", mode="status", status=503, retry_after=0, count=5
    )
    first = run(app_config, "installs", "disconnect", "acme", "--yes")
    assert first.exit_code == 1
    assert "5 object(s) left; disconnect again to resume" in first.output
    assert [g["status"] for g in sandbox.grants("acme")] == ["active"]
    second = run(app_config, "installs", "disconnect", "acme", "--yes")
    assert second.exit_code == 0, second.output
    assert sandbox.objects("acme") == {"integrations": [], "widgets": []}


def test_installs_purge_forgets_every_trace(
    installer: InstallDriver, app_config: dict[str, str], app: Flask
) -> None:
    """`purge` asks (warning about live access and objects), then forgets the account."""
    installer.install("acme")
    asked = run(app_config, "installs", "purge", "acme", stdin="n\n")
    assert asked.exit_code == 1
    assert "still active" in asked.output and "5 object(s)" in asked.output
    result = run(app_config, "installs", "purge", "acme", "--yes", "--json")
    assert json.loads(result.stdout) == {"account": "acme", "installation": True, "ledger_rows": 5}
    kit = kit_of(app)
    assert kit.installation("acme") is None
    assert kit.history("acme") == [] and kit.ledger.entries("acme") == []
    again = run(app_config, "installs", "purge", "acme", "--yes")
    assert "Nothing was stored about acme" in again.output


def test_no_operator_command_prints_a_token(
    installer: InstallDriver, app_config: dict[str, str], app: Flask
) -> None:
    """Tables and JSON show fingerprints; neither token value ever appears."""
    installer.install("acme")
    tokens = kit_of(app).installation("acme").tokens
    output = "".join(
        run(app_config, *args).output
        for args in (
            ("installs", "list"),
            ("installs", "list", "--json"),
            ("installs", "show", "acme"),
            ("installs", "show", "acme", "--json"),
        )
    )
    assert tokens.access_token.fingerprint() in output
    assert tokens.access_token.reveal() not in output
    assert tokens.refresh_token.reveal() not in output


# -- doctor --------------------------------------------------------------------------------
@pytest.fixture
def sqlite_config(sandbox: SandboxControl, sqlite_url: str) -> dict[str, str]:
    """Settings for doctor checks whose outcome does not depend on the database."""
    return kit_env(sandbox.base_url, sqlite_url)


SEVERITY = {"skip": 0, "ok": 1, "warn": 2, "fail": 3}


def doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = run(env, "doctor", "--json", *args)
    data = json.loads(result.stdout)
    worst: dict[str, dict[str, Any]] = {}
    for finding in data["findings"]:  # per check, the most severe finding
        kept = worst.get(finding["check"])
        if kept is None or SEVERITY[finding["level"]] > SEVERITY[kept["level"]]:
            worst[finding["check"]] = finding
    return result.exit_code, worst


def admin_env() -> dict[str, str]:
    return {
        "GORGIAS_ADMIN_USER": "ops",
        "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash("correct horse battery"),
    }


def test_doctor_passes_a_sound_configuration(
    app_config: dict[str, str], sandbox: SandboxControl, app: Flask
) -> None:
    """Reachable account, accepted client, clock in step, schema in place: exit 0, warnings."""
    code, found = doctor({**app_config, **admin_env()}, "--account", "acme")
    assert code == 0
    assert {k for k, f in found.items() if f["level"] == "fail"} == set()
    for check in (
        "reachability",
        "clock",
        "scopes",
        "shared database",
        "database",
        "operator pages",
        "redirect URI",
        "encryption keys",
    ):
        assert found[check]["level"] == "ok", found[check]
    assert found["secret key"]["level"] == "warn"  # the tests' "xxxx…" key is easy to guess
    assert found["public URL"]["level"] == "warn"  # plain http on loopback
    assert "http://127.0.0.1:8000/oauth/callback" in found["redirect URI"]["message"]
    table = run({**app_config, **admin_env()}, "doctor")
    assert table.exit_code == 0 and "warning(s)" in table.output


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        ({"GORGIAS_SCOPES": "openid tickets:read"}, "scopes", "offline"),
        ({"GORGIAS_CLIENT_ID": ""}, "configuration", "GORGIAS_CLIENT_ID is required"),
        ({"GORGIAS_SECRET_KEY": ""}, "secret key", "not set"),
        (
            {"GORGIAS_ADMIN_USER": "ops", "GORGIAS_ADMIN_PASSWORD_HASH": "hunter2hunter2"},
            "configuration",  # issue 9 item 5: checked with every other setting
            "not a password hash",
        ),
        ({"GORGIAS_PROXY_FIX": "yes"}, "configuration", "number of proxies"),
        ({"GORGIAS_APP_URL": "http://127.0.0.1:8999"}, "reachability", "is registered exactly"),
    ],
    ids=[
        "no-offline",
        "config-error",
        "no-secret-key",
        "plain-password",
        "proxy-fix",
        "unregistered-redirect-uri",
    ],
)
def test_doctor_fails_and_says_what_to_fix(
    change: dict[str, str],
    check: str,
    words: str,
    sqlite_config: dict[str, str],
    sandbox: SandboxControl,
) -> None:
    """Each misconfiguration is a failed check with a plain-words fix, and exit 1."""
    code, found = doctor({**sqlite_config, **change}, "--account", "acme")
    assert code == 1
    assert found[check]["level"] == "fail"
    assert words in found[check]["message"]


def test_doctor_reports_unreachable_and_failing_gorgias(
    sqlite_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """A closed port and a 5xx authorize endpoint both fail the reachability check."""
    closed = {**sqlite_config, "GORGIAS_URL_TEMPLATE": "http://127.0.0.1:9/{account}"}
    code, found = doctor(closed, "--account", "acme")
    assert code == 1 and "cannot be reached" in found["reachability"]["message"]
    sandbox.add_fault(path="/oauth/authorize", mode="status", status=503, count=1)
    code, found = doctor(sqlite_config, "--account", "acme")
    assert code == 1 and "answered 503" in found["reachability"]["message"]
    code, found = doctor(sqlite_config, "--account", "nosuchaccount")
    assert code == 1 and "404" in found["reachability"]["message"]


def test_doctor_without_an_account_skips_the_network_checks(
    sqlite_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """No --account: no request to Gorgias, and the report says how to add them."""
    code, found = doctor(sqlite_config)
    assert code == 0
    assert found["account"]["level"] == "skip" and "--account" in found["account"]["message"]
    assert sandbox.count("acme", "oauth.authorize") == 0


def test_doctor_probe_app_fails_when_the_public_url_is_dead(
    sqlite_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """--probe-app fetches /healthz through GORGIAS_APP_URL."""
    code, found = doctor({**sqlite_config, "GORGIAS_APP_URL": "http://127.0.0.1:9"}, "--probe-app")
    assert code == 1 and "cannot be reached" in found["public URL"]["message"]


def test_doctor_notices_stored_tokens_sealed_with_a_missing_key(
    installer: InstallDriver, app_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """Replacing the encryption key instead of adding one is caught before tokens are lost."""
    installer.install("acme")
    other = kit_env(sandbox.base_url, app_config["GORGIAS_DATABASE_URL"])
    replaced = {**app_config, "GORGIAS_ENCRYPTION_KEYS": other["GORGIAS_ENCRYPTION_KEYS"]}
    code, found = doctor(replaced)
    assert code == 1
    assert "do not open" in found["encryption keys"]["message"]


def test_doctor_workers_and_the_shared_database(
    app_config: dict[str, str], sandbox: SandboxControl, tmp_path: Path
) -> None:
    """SQLite is fine for workers on a local disk, not on NFS; PostgreSQL is always shared."""
    url = app_config["GORGIAS_DATABASE_URL"]
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/export {tmp_path} nfs4 rw 0 0\n")
    with httpx.Client() as http:
        found = {
            f.check: f for f in Preflight(app_config, http=http, workers=4, mounts=mounts).run()
        }
    sharing = found["shared database"]
    if url.startswith("postgresql"):
        assert sharing.level == "ok" and "PostgreSQL" in sharing.message
        return
    assert sharing.level == "warn" and "nfs4" in sharing.message and "4 worker" in sharing.message
    code, by_check = doctor(app_config, "--workers", "4")
    assert (
        by_check["shared database"]["level"] == "ok"
        and "4 worker(s)" in by_check["shared database"]["message"]
    )
    memory = {**app_config, "GORGIAS_DATABASE_URL": "sqlite:///:memory:", "WEB_CONCURRENCY": "3"}
    code, by_check = doctor(memory)
    assert code == 1 and by_check["shared database"]["level"] == "fail"


@pytest.mark.parametrize(("offset", "level"), [(0, "ok"), (-20, "warn"), (300, "fail")])
def test_doctor_compares_the_clock_with_gorgias(
    offset: float, level: str, sqlite_config: dict[str, str], sandbox: SandboxControl
) -> None:
    """The Date header of the account's endpoint is the reference time."""
    with httpx.Client() as http:
        preflight = Preflight(sqlite_config, http=http, clock=OffsetClock(offset))
        findings = preflight.run(account="acme")
    (clock,) = [f for f in findings if f.check == "clock"]
    assert clock.level == level
    if level == "fail":
        assert re.search(r"\b(299|300|301) s ahead of Gorgias", clock.message)
        assert "NTP" in clock.message


def test_admin_password_hash_prints_a_usable_hash() -> None:
    """The printed hash verifies the password and is accepted by the doctor's check."""
    result = CliRunner().invoke(
        main, ["admin", "password-hash", "--stdin"], input="correct horse battery\n"
    )
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip()  # alone on stdout, for scripts
    assert "single-quote" in result.stderr  # issue 13: a sourced env file mangles "$"
    assert check_password_hash(hashed, "correct horse battery")
    short = CliRunner().invoke(main, ["admin", "password-hash", "--stdin"], input="short\n")
    assert short.exit_code == 1 and "12 characters" in short.output


def test_db_upgrade_needs_only_the_database(tmp_path: Path) -> None:
    """Issue 13: no client id, secret, app URL or keys are needed to create the schema."""
    url = f"sqlite:///{tmp_path / 'only.sqlite3'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"GORGIAS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "schema at revision" in result.output
    assert (tmp_path / "only.sqlite3").exists()
