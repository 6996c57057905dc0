"""The ``gorgias-appkit`` command: run the demo, the app, the sandbox, and operate installs.

Configuration comes from ``GORGIAS_*`` environment variables (see the README). Expected failures
(:class:`GorgiasAppError`) print one clear message and exit 1; anything else keeps its traceback.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..errors import GorgiasAppError
from .logging import configure_logging

DEMO_CLIENT_ID = "sandbox-client-id"
DEMO_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's well-known default


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except GorgiasAppError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Build, run and operate a Gorgias App Store app."""
    configure_logging(os.environ.get("GORGIAS_LOG_LEVEL", "INFO"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for both servers.")
@click.option("--port", default=8000, show_default=True, help="Port of the reference app.")
@click.option("--sandbox-port", default=8800, show_default=True, help="Port of the sandbox.")
def demo(host: str, port: int, sandbox_port: int) -> None:
    """Run the sandbox and the reference app together (what `make demo` runs).

    Uses development mode: SQLite and generated keys in ./instance, the sandbox as Gorgias.
    """
    from gorgias_sandbox import SandboxConfig
    from gorgias_sandbox import create_sandbox

    from ..starter import create_app
    from .servers import ThreadedServer

    app_url = f"http://{host}:{port}"
    sandbox_config = SandboxConfig(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        redirect_uris=(f"{app_url}/oauth/callback",),
    )
    sandbox = ThreadedServer(create_sandbox(sandbox_config), host=host, port=sandbox_port).start()
    os.environ.update(
        GORGIAS_MODE="development",
        GORGIAS_CLIENT_ID=DEMO_CLIENT_ID,
        GORGIAS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        GORGIAS_APP_URL=app_url,
        GORGIAS_URL_TEMPLATE=f"{sandbox.url}/{{account}}",
    )
    with _friendly_errors():
        app = ThreadedServer(create_app(), host=host, port=port).start()
    click.echo(f"\n  Sandbox (fake Gorgias): {sandbox.url}/_sandbox/stats")
    click.echo(f"  Open the app:           {app.url}/\n")
    click.echo("  Install into the sandbox account 'acme', approve, and see its dashboard.")
    click.echo("  Press Ctrl+C to stop.\n")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        app.stop()
        sandbox.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the reference app alone on gunicorn, configured from the environment."""
    from ..starter import create_app
    from .servers import run_gunicorn

    with _friendly_errors():
        create_app()  # validate configuration and migrate once before forking workers
    run_gunicorn(create_app, host=host, port=port, workers=workers)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True)
def sandbox(host: str, port: int) -> None:
    """Run the sandbox (a local fake Gorgias) alone; switches come from SANDBOX_* variables."""
    from gorgias_sandbox import SandboxConfig
    from gorgias_sandbox import serve_sandbox

    try:
        config = SandboxConfig.from_env(os.environ)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sandbox on http://{host}:{port}/{{account}} (control: /_sandbox/stats)")
    serve_sandbox(config, host=host, port=port)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (also done at app start-up)."""
    from ..kit import Kit
    from ..store.engine import current_revision

    with _friendly_errors():
        kit = Kit.from_env()
        click.echo(f"schema at revision {current_revision(kit.engine)}")


main.add_command(__import__(f"{__name__}.refresh", fromlist=["_"]).refresh_due)  # issue 3
main.add_command(__import__(f"{__name__}.keys", fromlist=["_"]).keys)  # issue 5
main.add_command(__import__(f"{__name__}.installs", fromlist=["_"]).installs)  # issue 6
main.add_command(__import__(f"{__name__}.doctor", fromlist=["_"]).doctor)  # issue 6
main.add_command(__import__(f"{__name__}.admin", fromlist=["_"]).admin)  # issue 6


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
