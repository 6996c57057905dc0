"""Shared pieces of the operator commands: the kit from the environment, errors, output.

Every operator command prints a rich table for people and, with ``--json``, one JSON document
for scripts. Records become plain dicts here; a token appears only as its fingerprint. Table cells
are literal text (:func:`plain`): stored or remote strings are never read as rich markup and
their control characters are shown escaped.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.account import Account
from ..core.account import parse_account
from ..core.inbound_records import IntegrationHealth
from ..core.logformat import one_line
from ..core.records import Installation
from ..core.records import InstallEvent
from ..core.records import LedgerEntry
from ..errors import GorgiasAppError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def account_argument(value: str) -> Account:
    """Validate an ACCOUNT argument (the Gorgias subdomain)."""
    try:
        return parse_account(value)
    except GorgiasAppError as exc:
        raise click.BadParameter(str(exc)) from None


def console() -> Console:
    """A console on the current stdout; wide when it is not a terminal (logs, pipes)."""
    tty = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if tty else 160, soft_wrap=not tty)


def print_json(data: object) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def plain(value: str) -> Text:
    """``value`` as literal terminal text: never read as rich markup, control characters shown
    escaped (``\\x1b``), so a stored or remote string cannot style, link or hide anything."""
    return Text(one_line(value))


def table(title: str | None, columns: list[str], rows: list[list[str | Text]]) -> Table:
    """A rich table with the given header and rows; every ``str`` cell is shown :func:`plain`.

    Cells are stored or remote data (Gorgias' error descriptions, history lines, configured
    values): pass a :class:`Text` only for markup the command wrote itself.
    """
    out = Table(title=plain(title) if title else None, title_justify="left", header_style="bold")
    for name in columns:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*(cell if isinstance(cell, Text) else plain(cell) for cell in row))
    return out


def when(value: datetime | None) -> str | None:
    """An ISO 8601 UTC timestamp, or ``None``."""
    return value.isoformat(timespec="seconds") if value else None


def show(value: datetime | None, empty: str = "—") -> str:
    """A short UTC timestamp for tables."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else empty


def installation_dict(i: Installation, *, objects: int | None = None) -> dict[str, Any]:
    """The JSON form of an installation (no token, only its fingerprint)."""
    data: dict[str, Any] = {
        "account": i.account,
        "health": i.status.value,
        "expires_at": when(i.expires_at),
        "scopes": list(i.scopes),
        "last_refresh_at": when(i.last_refresh_at),
        "installed_at": when(i.installed_at),
        "user_email": i.user_email,
        "refresh_failures": i.refresh_failures,
        "next_refresh_at": when(i.next_refresh_at),
        "last_error": i.last_error,
        "token_fingerprint": i.tokens.access_token.fingerprint() if i.tokens else None,
        "has_refresh_token": bool(i.tokens and i.tokens.refresh_token),
    }
    if objects is not None:
        data["objects"] = objects
    return data


def event_dict(e: InstallEvent) -> dict[str, Any]:
    """The JSON form of one history line."""
    return {
        "at": when(e.at),
        "event": e.event,
        "from": e.from_status,
        "to": e.to_status,
        "detail": e.detail,
    }


def ledger_dict(e: LedgerEntry) -> dict[str, Any]:
    """The JSON form of one ledger row."""
    return {
        "kind": e.kind,
        "id": e.remote_id,
        "name": e.name,
        "created_at": when(e.created_at),
        "deleted_at": when(e.deleted_at),
    }


def health_dict(h: IntegrationHealth, threshold: int) -> dict[str, Any]:
    """The JSON form of one integration's health (the 100-failure rule)."""
    return {
        "integration": h.integration,
        "state": h.state(threshold),
        "consecutive_failures": h.consecutive_failures,
        "last_success_at": when(h.last_success_at),
        "last_failure_at": when(h.last_failure_at),
        "last_error": h.last_error,
        "deactivated_at": when(h.deactivated_at),
        "repaired_at": when(h.repaired_at),
    }
