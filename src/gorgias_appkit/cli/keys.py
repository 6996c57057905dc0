"""``gorgias-appkit keys``: make encryption keys and rotate stored tokens onto the newest one.

Rotation recipe (SEC-14): generate a key, put it **first** in ``GORGIAS_ENCRYPTION_KEYS`` (keep
the old ones after it), restart the app (new writes use the new key, old rows still open), run
``gorgias-appkit keys rotate``, then drop the old keys. ``rotate`` is resumable: rows already
under the newest key are skipped, so it can be stopped and run again at any time.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn

from ..kit import Kit
from .context import pass_kit


@click.group()
def keys() -> None:
    """Encryption key commands."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new encryption key for GORGIAS_ENCRYPTION_KEYS (put it first in the list)."""
    from ..store.crypto import generate_key

    click.echo(generate_key())


@keys.command("rotate")
@click.option(
    "--batch-size",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Rows read per query.",
)
@click.option("--dry-run", is_flag=True, help="Only count the rows still under an older key.")
@pass_kit()
def keys_rotate(kit: Kit, batch_size: int, dry_run: bool) -> None:
    """Re-encrypt every stored token under the newest key (first in GORGIAS_ENCRYPTION_KEYS)."""
    from ..store.rotation import KeyRotation

    rotation = KeyRotation(kit.store, batch_size=batch_size)
    plan = rotation.plan()
    click.echo(
        f"key {plan.current_kid}: {plan.pending} of {plan.total} sealed row(s) "
        "still use an older key"
    )
    if dry_run or plan.pending == 0:
        return
    console = Console(stderr=True)
    columns = (
        TextColumn("re-encrypting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("rotate", total=plan.pending)
        report = rotation.run(lambda n: bar.advance(task, n))
    click.echo(
        f"rotated {report.rotated} row(s) to key {report.current_kid}; "
        f"{report.already_current} already current; {len(report.failed)} failed"
    )
    if report.failed:
        raise click.ClickException(
            "these rows do not decrypt with any configured key (reconnect those accounts): "
            + ", ".join(report.failed)
        )
