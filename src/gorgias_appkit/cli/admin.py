"""``gorgias-appkit admin password-hash``: make the value of ``GORGIAS_ADMIN_PASSWORD_HASH``.

The password is read without echo (or from stdin with ``--stdin``); only its hash is printed.
"""

from __future__ import annotations

import sys

import click
from werkzeug.security import generate_password_hash


@click.group()
def admin() -> None:
    """Operator login for the /admin pages and /metrics."""


@admin.command("password-hash")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from stdin.")
def password_hash(from_stdin: bool) -> None:
    """Print a password hash for GORGIAS_ADMIN_PASSWORD_HASH (scrypt)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("use at least 12 characters")
    click.echo(generate_password_hash(password))
    # The hash holds "$" signs: a shell (or a sourced env file) would expand them unquoted.
    click.echo(
        "note: the hash contains '$'; in a shell or an env file, single-quote it: "
        "GORGIAS_ADMIN_PASSWORD_HASH='<hash>'",
        err=True,
    )
