"""The ``gorgias-appkit`` command: run the demo, the app, the sandbox, and operate installs.

Configuration comes from ``GORGIAS_*`` environment variables (see the README). Every command
gets its kit from :func:`.context.pass_kit`; expected failures (:class:`GorgiasAppError`) print
one plain sentence and exit 1 (:class:`.context.KitGroup`); anything else keeps its traceback.
"""

from __future__ import annotations

import os

import click

from .. import __version__
from .admin import admin
from .context import KitGroup
from .db import db
from .doctor import doctor
from .inbound import events
from .inbound import repair
from .inbound import rotate_key
from .inbound import sync
from .inbound import worker
from .installs import installs
from .keys import keys
from .logging import configure_logging
from .refresh import refresh_due
from .run import demo
from .run import sandbox
from .run import serve


@click.group(cls=KitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gorgias-appkit")
def main() -> None:
    """Build, run and operate a Gorgias App Store app."""
    configure_logging(os.environ.get("GORGIAS_LOG_LEVEL", "INFO"))


for command in (
    demo,
    serve,
    sandbox,
    worker,
    db,
    refresh_due,
    keys,
    installs,
    events,
    doctor,
    admin,
):
    main.add_command(command)

for command in (sync, repair, rotate_key):  # inbound/ subcommands of `installs`
    installs.add_command(command)
