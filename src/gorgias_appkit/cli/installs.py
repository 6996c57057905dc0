"""``gorgias-appkit installs …``: see, refresh, sync, repair, disconnect and forget installations.

Configured by the same ``GORGIAS_*`` variables as the app (point it at the same database). A
table on a terminal, JSON with ``--json``; no command ever prints a token, only fingerprints.
Destructive commands ask first unless given ``--yes``.
"""

from __future__ import annotations

import click

from ..core.account import Account
from ..kit import Kit
from .context import pass_kit
from .output import account_argument
from .output import console
from .output import event_dict
from .output import health_dict
from .output import installation_dict
from .output import json_option
from .output import ledger_dict
from .output import print_json
from .output import show
from .output import table

_ACCOUNT = click.argument("account", callback=lambda _c, _p, v: account_argument(v))
# What became of the grant at Gorgias, in the operator's words.
_REVOKED = {
    "revoked": "access revoked at Gorgias",
    "queued": "Gorgias did not answer: the revocation is queued and retried by the worker "
    "(refresh-due)",
    "failed": "Gorgias refused the revocation (see `installs show`)",
    "nothing_to_revoke": "no token was left to revoke",
}
_YES = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


@click.group()
def installs() -> None:
    """List, inspect, refresh, sync, repair, disconnect and purge installations."""


@installs.command("list")
@click.option(
    "--health",
    type=click.Choice(["active", "refresh_failing", "needs_reauth", "uninstalled"]),
    help="Only this health state.",
)
@json_option
@pass_kit()
def list_(kit: Kit, health: str | None, as_json: bool) -> None:
    """Every installation: account, health, token expiry, scopes, last refresh."""
    rows = [i for i in kit.installations() if health is None or i.status.value == health]
    if as_json:
        print_json([installation_dict(i) for i in rows])
        return
    if not rows:
        click.echo("No installation.")
        return
    console().print(
        table(
            None,
            ["Account", "Health", "Token expires", "Scopes", "Last refresh"],
            [
                [
                    i.account,
                    i.status.value,
                    show(i.expires_at),
                    " ".join(i.scopes) or "—",
                    show(i.last_refresh_at, "never"),
                ]
                for i in rows
            ],
        )
    )


@installs.command("show")
@_ACCOUNT
@click.option("--history", "limit", default=20, show_default=True, help="History lines.")
@json_option
@pass_kit()
def show_(kit: Kit, account: Account, limit: int, as_json: bool) -> None:
    """One installation with its history and the objects the app created (ledger)."""
    installation = kit.installation(account)
    if installation is None:
        raise click.ClickException(f"no installation for {account!r}")
    history = kit.history(account, limit=limit)
    ledger = kit.ledger.entries(account)
    threshold = kit.settings.inbound.at_risk
    health = kit.inbound.repair.of(account)
    if as_json:
        print_json(
            {
                **installation_dict(installation),
                "history": [event_dict(e) for e in history],
                "ledger": [ledger_dict(e) for e in ledger],
                "integrations": [health_dict(h, threshold) for h in health],
            }
        )
        return
    details = installation_dict(installation)
    out = console()
    out.print(
        table(
            f"Installation {account}",
            ["Field", "Value"],
            [
                [k.replace("_", " "), " ".join(v) if isinstance(v, list) else str(v or "—")]
                for k, v in details.items()
                if k != "account"
            ],
        )
    )
    out.print(
        table(
            "Objects the app created (ledger)",
            ["Kind", "Id", "Name", "Created", "Removed"],
            [
                [
                    e.kind,
                    e.remote_id,
                    e.name or "",
                    show(e.created_at),
                    show(e.deleted_at, "still there"),
                ]
                for e in ledger
            ],
        )
    )
    if health:
        out.print(
            table(
                "Integrations (Gorgias deactivates one after 100 failed answers in a row)",
                ["Integration", "State", "Failures in a row", "Last success", "Last error"],
                [
                    [
                        h.integration,
                        h.state(threshold),
                        str(h.consecutive_failures),
                        show(h.last_success_at, "never"),
                        h.last_error or "",
                    ]
                    for h in health
                ],
            )
        )
    left = [e for e in ledger if e.live]
    if left and not installation.status.usable:
        out.print(
            f"[bold]{len(left)} object(s) stay in {account}[/]: the app lost its access and "
            "cannot delete them. The merchant deletes them in Gorgias, or reconnects and "
            "disconnects."
        )
    out.print(
        table(
            "History (newest first)",
            ["When", "Event", "Health", "Detail"],
            [
                [
                    show(e.at),
                    e.event,
                    f"{e.from_status or ''} → {e.to_status or ''}",
                    e.detail or "",
                ]
                for e in history
            ],
        )
    )


@installs.command("refresh")
@_ACCOUNT
@json_option
@pass_kit()
def refresh(kit: Kit, account: Account, as_json: bool) -> None:
    """Refresh the account's tokens now, even if they are not due."""
    installation = kit.refresh_now(account)
    if as_json:
        print_json(installation_dict(installation))
        return
    fingerprint = installation_dict(installation)["token_fingerprint"]
    click.echo(
        f"Refreshed {account}: token {fingerprint}, expires {show(installation.expires_at)}."
    )


@installs.command("disconnect")
@_ACCOUNT
@_YES
@json_option
@pass_kit()
def disconnect(kit: Kit, account: Account, yes: bool, as_json: bool) -> None:
    """Remove the app's objects from the account, then revoke and drop its tokens.

    If the clean-up is interrupted, nothing is revoked and running it again resumes.
    """
    if kit.installation(account) is None:
        raise click.ClickException(f"no installation for {account!r}")
    before = len(kit.ledger.live(account))
    if not yes:
        click.confirm(
            f"Remove {before} object(s) the app created in {account}, then revoke its access?",
            abort=True,
        )
    done = kit.disconnect(account)
    left = len(kit.ledger.live(account))
    if as_json:
        print_json(
            {
                **installation_dict(done.installation),
                "objects_removed": before - left,
                "objects_left": left,
                "revocation": done.revocation,
            }
        )
        return
    click.echo(
        f"Disconnected {account}: {before - left} object(s) removed, {_REVOKED[done.revocation]}."
    )
    if left:
        click.echo(
            f"{left} object(s) could not be removed (access was already lost); "
            "they stay recorded for a reinstall."
        )


@installs.command("purge")
@_ACCOUNT
@_YES
@json_option
@pass_kit()
def purge(kit: Kit, account: Account, yes: bool, as_json: bool) -> None:
    """Forget every stored trace of the account: tokens, history, ledger.

    Purge calls nothing at Gorgias: run `installs disconnect` first to remove the app's objects
    and revoke its access.
    """
    installation = kit.installation(account)
    live = len(kit.ledger.live(account))
    if not yes:
        warnings = []
        if installation is not None and installation.status.usable:
            warnings.append("its access is still active at Gorgias (disconnect first)")
        if live:
            warnings.append(f"{live} object(s) the app created stay in the account")
        note = f" Note: {'; '.join(warnings)}." if warnings else ""
        click.confirm(f"Forget everything stored about {account}?{note}", abort=True)
    purged = kit.purge(account)
    if as_json:
        print_json(
            {
                "account": account,
                "installation": purged.installation,
                "ledger_rows": purged.ledger_rows,
            }
        )
        return
    if not purged.installation and not purged.ledger_rows:
        click.echo(f"Nothing was stored about {account}.")
        return
    click.echo(
        f"Purged {account}: installation and history forgotten, "
        f"{purged.ledger_rows} ledger row(s) deleted."
    )
