"""``gorgias-appkit db``: the database schema.

``db upgrade`` needs the database and nothing else: not the client credentials, the app's URL or
the encryption keys, so it can run first on a fresh server (or from a release job).
"""

from __future__ import annotations

import os

import click

from ..store.engine import current_revision
from ..store.engine import make_engine
from ..store.engine import upgrade
from ..store.instance import database_url
from ..store.instance import instance_folder


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (also done at app start-up); needs GORGIAS_DATABASE_URL only.

    Without GORGIAS_DATABASE_URL: the SQLite file in the instance folder (GORGIAS_INSTANCE_PATH,
    else ./instance), created with its folder if needed.
    """
    folder = instance_folder(os.environ)
    url = database_url(os.environ, instance_path=folder)
    if url.startswith("sqlite:///") and not os.environ.get("GORGIAS_DATABASE_URL"):
        folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
        click.echo(f"schema at revision {current_revision(engine)}")
    finally:
        engine.dispose()
