"""Issue 9, item 13: the smaller ones.

- the dashboard reads what the API sends defensively: a ``customer`` that is a string, a date
  that is a number, 5,000 tickets when it asked for 10: a page, never a 500, at most 10 rows;
- ``HEAD /oauth/callback`` is refused (405) and leaves the state for the real GET;
- a database that cannot be used (unreachable PostgreSQL, a missing driver, a SQLite file in a
  folder that does not exist) is one plain sentence and exit 1 from ``serve``, ``installs
  list`` and ``db upgrade``, never a traceback.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import free_port
from .serve_support import EXE
from .serve_support import serve_env

ODD_TICKETS: list[Any] = [
    {"id": 1, "subject": "string customer", "customer": "bob@example.com", "status": "open"},
    {"id": 2, "subject": "number customer", "customer": 42, "created_datetime": 1700000000},
    {"id": 3, "subject": ["list"], "customer": {"name": 5, "email": ["x"]}, "status": {"a": 1}},
    {"id": "4<script>", "created_datetime": {"when": "now"}, "customer": None},
    {"id": 5, "subject": "fine", "created_datetime": "not a date", "customer": {"name": "Ann"}},
    "not an object",
    None,
    {"id": 6, "subject": "ok", "created_datetime": "2024-05-01T10:20:30Z", "status": "closed"},
]


def rows(html: str) -> int:
    table = html.split('id="tickets"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>")


def test_item13_dashboard_survives_odd_shapes(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """Strings, numbers, lists where objects or dates belong: the page renders (200)."""
    installer.install("acme")
    sandbox.add_fault(
        path="/api/tickets", mode="status", status=200, body={"data": ODD_TICKETS}, count=1
    )
    sandbox.add_fault(
        path="/api/account", mode="status", status=200, body={"domain": "acme", "name": ["x"]}
    )
    page = client.get("/accounts/acme")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert rows(html) == 6  # the six objects; the string and the null are skipped
    assert "bob@example.com" in html and "Ann" in html and "2024-05-01 10:20" in html
    assert "<script>" not in html


def test_item13_dashboard_shows_at_most_ten_tickets(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """An API answering 5,000 tickets to a request for 10: the page shows 10."""
    installer.install("acme")
    many = [{"id": n, "subject": f"ticket {n}", "status": "open"} for n in range(5000)]
    sandbox.add_fault(path="/api/tickets", mode="status", status=200, body={"data": many})
    page = client.get("/accounts/acme")
    assert page.status_code == 200
    assert rows(page.get_data(as_text=True)) == 10


def test_item13_head_on_the_callback_is_refused_and_consumes_nothing(
    installer: InstallDriver, client: FlaskClient
) -> None:
    """HEAD /oauth/callback answers 405 (Allow: GET); the GET after it still installs."""
    callback = installer.consent(installer.start("acme"))
    head = client.head(callback.path_and_query)
    assert head.status_code == 405
    assert head.headers["Allow"] == "GET"
    assert installer.finish(callback).status_code == 303


# -- database errors -----------------------------------------------------------------------
def broken_databases(tmp_path: Path) -> dict[str, str]:
    return {
        "unreachable": f"postgresql+psycopg://app:pw-never-shown@127.0.0.1:{free_port()}/app",
        "no_driver": "postgresql+psycopg2://app@127.0.0.1/app",
        "missing_folder": f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'app.sqlite3'}",
    }


COMMANDS = {
    "serve": ("serve", "--port", "0"),
    "installs_list": ("installs", "list"),
    "db_upgrade": ("db", "upgrade"),
}
EXPECTED = {
    "unreachable": r"cannot open the database postgresql\+psycopg://app:\*\*\*@",
    "no_driver": r"database driver is not installed",
    "missing_folder": r"(there is no database at|the folder .* does not exist)",
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("database", sorted(EXPECTED))
def test_item13_database_errors_are_one_sentence(
    tmp_path: Path, command: str, database: str
) -> None:
    """Each broken database makes each command print one plain sentence and exit 1."""
    env = serve_env(tmp_path, GORGIAS_DATABASE_URL=broken_databases(tmp_path)[database])
    result = subprocess.run(  # noqa: S603 - our own console script
        [EXE, *COMMANDS[command]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # Log lines (INFO …) may come first; the error itself is the last thing printed.
    message = result.stderr[result.stderr.index("Error: ") :]
    assert re.search(EXPECTED[database], message), result.stderr
    assert len(message.splitlines()) <= 2  # a sentence (a ConfigError lists it as one item)
    assert "Traceback" not in result.stderr + result.stdout
    assert "pw-never-shown" not in result.stderr + result.stdout
    assert not (tmp_path / "no").exists()
