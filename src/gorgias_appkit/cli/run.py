"""``demo``, ``serve`` and ``sandbox``: run the reference app and the sandbox.

``demo`` runs both in one process on werkzeug threads, with the event worker on the main thread
(development mode, SQLite and generated keys in ./instance, the queue in a SQLite file beside
the database: no other service); ``serve`` runs the reference app on gunicorn (``serving.py``
and the shipped ``gunicorn.conf.py``), configured from the environment; ``sandbox`` runs the
local fake Gorgias alone (the ``gorgias-sandbox`` distribution, installed with the ``testing``
extra).
"""

from __future__ import annotations

import os

import click

DEMO_CLIENT_ID = "sandbox-client-id"
DEMO_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's well-known default


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for both servers.")
@click.option("--port", default=8000, show_default=True, help="Port of the reference app.")
@click.option("--sandbox-port", default=8800, show_default=True, help="Port of the sandbox.")
def demo(host: str, port: int, sandbox_port: int) -> None:
    """Run the sandbox, the reference app and its worker together (what `make demo` runs).

    Uses development mode: SQLite and generated keys in ./instance, the sandbox as Gorgias,
    the event queue in a SQLite file: no other service.
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
        integration_call_on_view=True,  # a ticket page shows the app's card at first sight
    )
    sandbox = ThreadedServer(create_sandbox(sandbox_config), host=host, port=sandbox_port).start()
    os.environ.update(
        GORGIAS_MODE="development",
        GORGIAS_CLIENT_ID=DEMO_CLIENT_ID,
        GORGIAS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        GORGIAS_APP_URL=app_url,
        GORGIAS_URL_TEMPLATE=f"{sandbox.url}/{{account}}",
    )
    flask_app = create_app()
    app = ThreadedServer(flask_app, host=host, port=port).start()
    click.echo(f"\n  Sandbox (fake Gorgias): {sandbox.url}/_sandbox/stats")
    click.echo(f"  Open the app:           {app.url}/")
    click.echo(f"  Sandbox tickets:        {sandbox.url}/acme/tickets\n")
    click.echo("  Install into the sandbox account 'acme', approve, and see its dashboard;")
    click.echo("  then open a ticket in the sandbox: the app's card is in the sidebar.")
    click.echo("  The event worker runs in this process. Press Ctrl+C to stop.\n")
    # The worker (event handlers and periodic jobs) runs here, on the main thread, until Ctrl+C.
    kit = flask_app.extensions["gorgias_appkit"]
    kit.inbound.jobs["sweep"]()
    kit.inbound.queue.consumer(threads=2).run()
    app.stop()
    sandbox.stop()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="gunicorn worker processes  [default: WEB_CONCURRENCY, else 2]",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    help="Threads per worker (gthread)  [default: GORGIAS_THREADS, else 4]",
)
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Run the reference app alone on gunicorn, configured from the environment.

    gthread workers with the shipped gunicorn.conf.py: access logs that mask OAuth codes,
    a worker timeout above GORGIAS_REQUEST_DEADLINE, and /metrics summed over every worker.
    Put a reverse proxy in front (TLS, buffering slow clients).
    """
    from ..starter import create_app
    from .serving import DEFAULT_THREADS
    from .serving import DEFAULT_WORKERS
    from .serving import THREADS_ENV
    from .serving import WORKERS_ENV
    from .serving import exec_gunicorn
    from .serving import positive_int

    workers = workers or positive_int(os.environ, WORKERS_ENV, DEFAULT_WORKERS, most=64)
    threads = threads or positive_int(os.environ, THREADS_ENV, DEFAULT_THREADS, most=256)
    app = create_app()  # validate configuration and migrate once, before any worker starts
    app.extensions["gorgias_appkit"].close()
    exec_gunicorn(host=host, port=port, workers=workers, threads=threads)


@click.command()
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
