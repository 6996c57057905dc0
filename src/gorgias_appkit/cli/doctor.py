"""``gorgias-appkit doctor``: check the configuration before the first install.

Reads the same ``GORGIAS_*`` variables as the app. Prints one line per check with what to fix;
exits 1 when any check fails, so a deploy script can stop there (see :mod:`..preflight`).
"""

from __future__ import annotations

import os
from dataclasses import asdict

import click
import httpx
from rich.text import Text

from .inbound import integrations_findings
from .inbound import integrations_option
from .output import console
from .output import json_option
from .output import print_json
from .output import table
from .preflight import Preflight

_MARKS = {
    "ok": "[green]ok[/]",
    "warn": "[yellow]warn[/]",
    "fail": "[red]FAIL[/]",
    "skip": "[dim]skip[/]",
}


@click.command()
@click.option(
    "--account",
    metavar="SUBDOMAIN",
    help="Also probe this account's endpoints at Gorgias and compare clocks.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes you will run (default: WEB_CONCURRENCY or 1).",
)
@click.option(
    "--probe-app", is_flag=True, help="Also fetch {GORGIAS_APP_URL}/healthz through the public URL."
)
@integrations_option
@json_option
def doctor(
    account: str | None,
    workers: int | None,
    probe_app: bool,
    integrations_ref: str | None,
    as_json: bool,
) -> None:
    """Check the configuration before the first install and say what to fix.

    Public URL and proxy, redirect URI, secret key, encryption keys, scopes, a database shared
    by every worker, operator login, the app's declared integrations and widgets (every path a
    widget reads is in its handler's sample answer); with --account, reachability and the
    clock too.
    """
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False) as http:
        findings = Preflight(os.environ, http=http, workers=workers).run(
            account=account, probe_app=probe_app
        )
    findings += integrations_findings(integrations_ref)
    failed = sum(f.level == "fail" for f in findings)
    if as_json:
        print_json({"ok": not failed, "findings": [asdict(f) for f in findings]})
    else:
        console().print(
            table(
                None,
                ["", "Check", "What to know or fix"],
                [[Text.from_markup(_MARKS[f.level]), f.check, f.message] for f in findings],
            )
        )
        warned = sum(f.level == "warn" for f in findings)
        click.echo(
            f"{failed} problem(s) to fix, {warned} warning(s)."
            if failed or warned
            else "All checks passed."
        )
    if failed:
        raise SystemExit(1)
