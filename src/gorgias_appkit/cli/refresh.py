"""``gorgias-appkit refresh-due``: refresh every installation that expires soon, from cron.

Safe beside web workers and beside another run of itself: each account goes through the same
single-flight lock as ``Kit.access_token_for``, re-read once held, so an account a sibling just
refreshed is skipped (REL-12). ``--concurrency N`` refreshes N accounts at once, and runs on
several hosts share the work: each claims due accounts in small batches and skips those another
run holds (:mod:`gorgias_appkit.tokens.runner`). It then retries queued upstream revocations
(REL-10). On a terminal it shows a rich progress bar; otherwise one plain line per account. Last
it deletes what has outlived its lifetime (install states, browser sessions, throttle counters)
and says how many. The last line is ``refreshed N, failed M, skipped K``; ``--json`` prints one
JSON document instead. The exit status is 1 if any refresh failed, so cron mail or a monitor
notices.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TYPE_CHECKING

import click

from ..core.logformat import one_line
from ..kit import Kit
from ..tokens.manager import RefreshOutcome
from ..tokens.manager import RefreshReport
from ..tokens.runner import MAX_CONCURRENCY
from .context import pass_kit

if TYPE_CHECKING:
    from ..tokens.disconnect import RevocationReport
    from ..tokens.runner import RefreshRunner


@click.command("refresh-due")
@click.option(
    "--within",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Refresh access tokens that expire within this many seconds.",
)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, MAX_CONCURRENCY),
    help="Accounts refreshed at once (each holds a database connection while it refreshes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, no progress.")
@pass_kit()
def refresh_due(kit: Kit, within: float, concurrency: int, as_json: bool) -> None:
    """Refresh every usable installation whose token expires within --within seconds.

    Runs started at the same time (cron on several hosts) share the due accounts out. Then
    retry queued revocations, and delete install links, browser sessions and throttle counters
    that have outlived their lifetime.
    """
    reports = _refresh_all(kit, within, concurrency, quiet=as_json)
    revocations = kit.retry_pending_revocations()
    purged = kit.purge_expired()
    swept = {
        "install_states": purged.install_states,
        "sessions": purged.sessions,
        "throttle_counters": purged.throttle_counters,
    }
    counts = Counter(r.outcome for r in reports)
    summary = {outcome.value: counts[outcome] for outcome in RefreshOutcome}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "within": within,
                    "results": [
                        {"account": r.account, "outcome": r.outcome.value, "reason": r.reason}
                        for r in reports
                    ],
                    "summary": summary,
                    "revocations": _revocations(revocations),
                    "purged": swept,
                },
                indent=2,
            )
        )
    else:
        if any(_revocations(revocations).values()):
            r = revocations
            click.echo(
                f"revocations: revoked {r.revoked}, retrying {r.retrying}, abandoned {r.abandoned}"
            )
        click.echo(
            f"purged {purged.install_states} install states, {purged.sessions} sessions, "
            f"{purged.throttle_counters} throttle counters"
        )
        click.echo(
            f"refreshed {summary['refreshed']}, failed {summary['failed']}, "
            f"skipped {summary['skipped']}"
        )
    if counts[RefreshOutcome.FAILED]:
        sys.exit(1)


def _refresh_all(kit: Kit, within: float, concurrency: int, *, quiet: bool) -> list[RefreshReport]:
    runner = kit.refresh_runner(concurrency=concurrency)
    if quiet:
        return runner.run(within=within)
    if sys.stdout.isatty():
        return _with_progress(runner, within)
    return runner.run(within=within, on_report=lambda report: click.echo(_line(report)))


def _with_progress(runner: RefreshRunner, within: float) -> list[RefreshReport]:
    from rich.console import Console
    from rich.progress import Progress

    console = Console(file=sys.stdout)
    with Progress(console=console, transient=False) as progress:
        # The total counts every due account; another run may take some of them.
        task = progress.add_task("refreshing", total=runner.count_due(within=within))

        def show(report: RefreshReport) -> None:
            if report.outcome is RefreshOutcome.FAILED:
                progress.console.print(_line(report), markup=False, highlight=False)
            progress.advance(task)

        return runner.run(within=within, on_report=show)


def _line(report: RefreshReport) -> str:
    suffix = "" if report.reason == "ok" else f" ({report.reason})"
    return one_line(f"{report.account}: {report.outcome.value}{suffix}")  # no terminal escapes


def _revocations(report: RevocationReport) -> dict[str, int]:
    return {"revoked": report.revoked, "retrying": report.retrying, "abandoned": report.abandoned}
