"""``worker``, ``events`` and ``installs sync|repair|rotate-key``: the inbound half's commands.

The worker is the one background process an operator runs beside the web servers: it runs the
app's event handlers from the queue (Huey; see ``inbound/queue.py``) and the periodic jobs that
used to be cron lines: ``refresh-due`` and revocation retries (every 5 min), the sweep of
events nobody took (every minute), install-state and retired-key purges (hourly), and the
repair of integrations at risk (every 10 min; every one every 6 h). Run as many workers as you
like, on as many machines as share the database (or Redis); ``--no-periodic`` on all but one
saves the jobs' duplicate work (they are safe to run twice).

The app's declarations come from ``GORGIAS_INTEGRATIONS`` (``module:attribute``, default the
reference app's ``gorgias_appkit.starter.integrations:integrations``) or ``--integrations``.
"""

from __future__ import annotations

import importlib
import os

import click

from ..core.account import Account
from ..core.inbound_records import EventStatus
from ..errors import ConfigError
from ..errors import GorgiasAppError
from ..inbound.declarations import Integrations
from ..kit import Kit
from .context import pass_kit
from .output import account_argument
from .output import console
from .output import json_option
from .output import print_json
from .output import show
from .output import table
from .preflight_network import Finding

DEFAULT_INTEGRATIONS = "gorgias_appkit.starter.integrations:integrations"


def load_integrations(reference: str | None) -> Integrations:
    """Import ``module:attribute`` (an :class:`Integrations`, or a callable returning one)."""
    ref = reference or os.environ.get("GORGIAS_INTEGRATIONS") or DEFAULT_INTEGRATIONS
    module_name, _, attribute = ref.partition(":")
    try:
        found: object = getattr(importlib.import_module(module_name), attribute or "integrations")
    except (ImportError, AttributeError) as exc:
        raise ConfigError([f"GORGIAS_INTEGRATIONS: cannot import {ref!r} ({exc})"]) from None
    if callable(found) and not isinstance(found, Integrations):
        found = found()
    if not isinstance(found, Integrations):
        raise ConfigError([f"GORGIAS_INTEGRATIONS: {ref!r} is not an Integrations object"])
    return found


integrations_option = click.option(
    "--integrations",
    "integrations_ref",
    metavar="MODULE:ATTR",
    help="The app's declarations (default: GORGIAS_INTEGRATIONS, else the reference app's).",
)


def declared_kit(kit: Kit, reference: str | None) -> Kit:
    """The kit with the app's declarations (a declaration problem is a plain error, exit 1)."""
    kit.declare(load_integrations(reference))
    return kit


@click.command()
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-periodic", is_flag=True, help="Run events only, not the periodic jobs.")
@integrations_option
@pass_kit(migrate=True)
def worker(kit: Kit, threads: int, no_periodic: bool, integrations_ref: str | None) -> None:
    """Run the event handlers from the queue and the periodic jobs until stopped (Ctrl+C)."""
    declared_kit(kit, integrations_ref)
    queue = kit.inbound.queue
    if queue.url.startswith("memory://"):
        raise click.ClickException(
            "the queue is in memory (an in-memory database): a worker in another process "
            "cannot see it. Use a database file, PostgreSQL, Redis or GORGIAS_QUEUE_URL."
        )
    jobs = "no periodic jobs" if no_periodic else f"jobs: {', '.join(kit.inbound.jobs)}"
    click.echo(f"worker: {threads} thread(s) on the {queue.url.split('://')[0]} queue, {jobs}")
    kit.inbound.jobs["sweep"]()  # whatever was left open while no worker ran
    queue.consumer(threads=threads, periodic=not no_periodic).run()


@click.group()
def events() -> None:
    """Events Gorgias sent the app: list them (dead letters too) and replay a dead letter."""


@events.command("list")
@click.option("--account", help="Only this account.")
@click.option("--dead", is_flag=True, help="Only dead letters (handlers that gave up).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_kit()
def list_events(kit: Kit, account: str | None, dead: bool, limit: int, as_json: bool) -> None:
    """The newest events first, with their outcome, attempts and deliveries."""
    found = kit.inbound.latest_events(
        account, status=EventStatus.DEAD if dead else None, limit=limit
    )
    if as_json:
        print_json(
            [
                {
                    "id": e.id,
                    "account": e.account,
                    "integration": e.integration,
                    "trigger": e.trigger,
                    "ticket_id": e.ticket_id,
                    "status": e.status.value,
                    "attempts": e.attempts,
                    "deliveries": e.deliveries,
                    "received_at": e.received_at.isoformat(timespec="seconds"),
                    "last_error": e.last_error,
                }
                for e in found
            ]
        )
        return
    console().print(
        table(
            None,
            ["Id", "Account", "Event", "Ticket", "Status", "Attempts", "Received", "Last error"],
            [
                [
                    str(e.id),
                    e.account,
                    f"{e.integration} {e.trigger}",
                    e.ticket_id or "",
                    e.status.value,
                    str(e.attempts),
                    show(e.received_at),
                    e.last_error or "",
                ]
                for e in found
            ],
        )
    )


@events.command("replay")
@click.argument("event_id", type=int)
@pass_kit()
def replay(kit: Kit, event_id: int) -> None:
    """Give a dead letter a new set of attempts (the worker runs it)."""
    if not kit.inbound.replay(event_id):
        raise click.ClickException(f"event {event_id} is not a dead letter")
    click.echo(f"event {event_id} queued again")


def _targets(kit: Kit, account: Account | None, every: bool) -> list[Account]:
    if (account is None) == (not every):
        raise click.UsageError("name one ACCOUNT or pass --all")
    if account is not None:
        if kit.installation(account) is None:
            raise click.ClickException(f"no installation for {account!r}")
        return [account]
    return [i.account for i in kit.installations() if i.status.usable]


_OPTIONAL_ACCOUNT = click.argument(
    "account", required=False, callback=lambda _c, _p, v: account_argument(v) if v else None
)
_ALL = click.option("--all", "every", is_flag=True, help="Every usable installation.")


@click.command("sync")
@_OPTIONAL_ACCOUNT
@_ALL
@integrations_option
@json_option
@pass_kit()
def sync(
    kit: Kit, account: Account | None, every: bool, integrations_ref: str | None, as_json: bool
) -> None:
    """Make the account's integrations and widgets match the app's declarations.

    Run it after deploying a version whose declarations changed: objects are updated in place,
    new ones created, ones no longer declared deleted. Exit 1 if any account failed.
    """
    declared_kit(kit, integrations_ref)
    results, failed = [], 0
    for name in _targets(kit, account, every):
        try:
            report = kit.sync(name)
            results.append({"account": name, "ensured": report.ensured, "removed": report.removed})
        except GorgiasAppError as exc:
            failed += 1
            results.append({"account": name, "error": str(exc)})
    if as_json:
        print_json(results)
    else:
        for r in results:
            line = r.get("error") or f"{r['ensured']} object(s) in place, {r['removed']} removed"
            click.echo(f"{r['account']}: {line}")
    if failed:
        raise SystemExit(1)


@click.command("repair")
@_OPTIONAL_ACCOUNT
@_ALL
@integrations_option
@json_option
@pass_kit()
def repair(
    kit: Kit, account: Account | None, every: bool, integrations_ref: str | None, as_json: bool
) -> None:
    """Reactivate integrations Gorgias deactivated (100 failures), once the app answers again.

    Each integration is read at Gorgias; a deactivated one is probed through the app's public
    URL with the account's key, and reactivated if the app answers. Exit 1 if any stays off.
    """
    declared_kit(kit, integrations_ref)
    results = []
    for name in _targets(kit, account, every):
        results += kit.repair(name)
    rows = [
        {"account": r.account, "integration": r.integration, "outcome": r.outcome} for r in results
    ]
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            click.echo(f"{r['account']} {r['integration']}: {r['outcome'].replace('_', ' ')}")
    if any(r["outcome"] == "still_failing" for r in rows):
        raise SystemExit(1)


@click.command("rotate-key")
@click.argument("account", callback=lambda _c, _p, v: account_argument(v))
@integrations_option
@pass_kit()
def rotate_key(kit: Kit, account: Account, integrations_ref: str | None) -> None:
    """Give the account's integrations a new key; the old one works for the grace period."""
    declared_kit(kit, integrations_ref)
    if kit.installation(account) is None:
        raise click.ClickException(f"no installation for {account!r}")
    kit.rotate_inbound_key(account)
    grace = kit.settings.inbound.key_grace
    click.echo(f"{account}: new key pushed to Gorgias; the old one is accepted for {grace:g} s.")


def integrations_findings(reference: str | None) -> list[Finding]:
    """The doctor's check of the app's declarations, widget contract included."""
    try:
        declared = load_integrations(reference)
    except ConfigError as exc:
        return [Finding("integrations", "fail", p) for p in exc.problems]
    problems = declared.problems()
    if problems:
        return [Finding("integrations", "fail", p) for p in problems]
    return [
        Finding(
            "integrations",
            "ok",
            f"{len(declared.data)} data and {len(declared.events)} event integration(s), "
            f"{len(declared.widgets)} widget(s); every path a widget reads is in its "
            "handler's sample answer.",
        )
    ]
