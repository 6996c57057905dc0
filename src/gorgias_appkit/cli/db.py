"""``gorgias-appkit db``: the database schema."""

from __future__ import annotations

import click

from ..kit import Kit
from .context import pass_kit


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_kit(migrate=True)
def db_upgrade(kit: Kit) -> None:
    """Apply every pending migration (also done at app start-up)."""
    click.echo(f"schema at revision {kit.schema_revision()}")
