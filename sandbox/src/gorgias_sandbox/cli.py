"""The ``gorgias-sandbox`` command line (click): options, environment, then serve.

:data:`command` is a plain click command, so another click group (the kit's
``gorgias-appkit sandbox``) can ``add_command(command)``; :func:`build_config` merges
``SANDBOX_*`` variables with command-line values (the command line wins; ``--redirect-uri``
adds to the registered list, ``--account`` replaces the account list); :func:`main` is the
console script.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence

import click

from .config import SandboxConfig
from .config_help import FIELD_HELP
from .server import serve_sandbox


def build_config(
    environ: Mapping[str, str] | None = None,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: Sequence[str] = (),
    accounts: Sequence[str] = (),
) -> SandboxConfig:
    """``SANDBOX_*`` variables (``os.environ`` by default), overridden by the given values."""
    config = SandboxConfig.from_env(os.environ if environ is None else environ)
    changes: dict[str, object] = {}
    if client_id:
        changes["client_id"] = client_id
    if client_secret:
        changes["client_secret"] = client_secret
    if redirect_uris:
        extra = [uri for uri in redirect_uris if uri not in config.redirect_uris]
        changes["redirect_uris"] = [*config.redirect_uris, *extra]
    if accounts:
        changes["accounts"] = list(dict.fromkeys(accounts))
    return config.with_changes(changes) if changes else config


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value) or "<empty>"


def environment_help() -> str:
    """The ``--help`` epilog: every ``SANDBOX_<FIELD>`` variable, its default and meaning."""
    defaults = SandboxConfig().to_dict()
    lines = []
    for name, help_text in FIELD_HELP.items():
        lines.append(f"  SANDBOX_{name.upper()}  (default: {_shown(defaults[name])})")
        lines += textwrap.wrap(help_text, 78, initial_indent="      ", subsequent_indent="      ")
    return (
        "Every setting can also come from an environment variable; the options above win "
        "over them. Booleans: true/false, 1/0, yes/no, on/off. Lists: comma-separated. All "
        "of them can be changed at run time with PATCH /_sandbox/config.\n\n\b\n" + "\n".join(lines)
    )


@click.command(
    name="sandbox",
    epilog=environment_help(),
    context_settings={"max_content_width": 100, "help_option_names": ["-h", "--help"]},
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8800, show_default=True, help="Port to listen on.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    metavar="URL",
    help="Also accept this OAuth callback URL (repeatable; added to SANDBOX_REDIRECT_URIS).",
)
@click.option("--client-id", help="OAuth client id of the built-in app.")
@click.option("--client-secret", help="OAuth client secret of the built-in app.")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="A Gorgias account to create (repeatable; replaces SANDBOX_ACCOUNTS).",
)
@click.option("--quiet", is_flag=True, help="Do not log every request (the banner still shows).")
def command(
    host: str,
    port: int,
    redirect_uris: tuple[str, ...],
    client_id: str | None,
    client_secret: str | None,
    accounts: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run a local fake Gorgias: OAuth2/OIDC per account, the REST API, HTTP integrations
    with sidebar widgets, and switchable faults, until interrupted."""
    try:
        config = build_config(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=redirect_uris,
            accounts=accounts,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    serve_sandbox(config, host=host, port=port, quiet=quiet)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script ``gorgias-sandbox``."""
    command.main(args=list(argv) if argv is not None else None, prog_name="gorgias-sandbox")
