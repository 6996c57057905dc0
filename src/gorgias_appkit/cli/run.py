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
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface both servers listen on; 0.0.0.0 for a container or a VM.",
)
@click.option("--port", default=8000, show_default=True, help="Port of the reference app.")
@click.option("--sandbox-port", default=8800, show_default=True, help="Port of the sandbox.")
@click.option(
    "--public-host",
    help="Host name the browser uses to reach both servers  "
    "[default: --host, or localhost when --host is a wildcard]",
)
def demo(host: str, port: int, sandbox_port: int, public_host: str | None) -> None:
    """Run the sandbox, the reference app and its worker together (what `make demo` runs).

    Everything the demo needs is its own: development mode, the sandbox as Gorgias, a SQLite
    file and generated keys in ./instance, the event queue in a SQLite file: no other service.
    GORGIAS_* variables of the caller are ignored (GORGIAS_LOG_LEVEL aside), so a demo never
    writes into a real database. In a container or a VM, use --host 0.0.0.0 and publish both
    ports; the browser then reaches them as http://localhost:PORT (or --public-host, which must
    name this machine: plain http is only allowed for loopback hosts).
    """
    try:
        from gorgias_sandbox import SandboxConfig
        from gorgias_sandbox import create_sandbox
    except ImportError:
        raise click.ClickException(
            "the demo needs the sandbox: pip install 'gorgias-appkit[testing]' "
            "(the gorgias-sandbox distribution)"
        ) from None
    from ..starter import create_app
    from .servers import ThreadedServer

    shown = public_host or ("localhost" if host in ("0.0.0.0", "::", "") else host)  # noqa: S104
    app_url = f"http://{shown}:{port}"
    ignored = [k for k in os.environ if k.startswith("GORGIAS_") and k != "GORGIAS_LOG_LEVEL"]
    for name in ignored:
        del os.environ[name]
    if ignored:
        click.echo(f"  (ignoring {len(ignored)} GORGIAS_* variable(s): the demo uses its own)")
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
        GORGIAS_URL_TEMPLATE=f"http://{shown}:{sandbox_port}/{{account}}",
    )
    try:
        flask_app = create_app()
        app = ThreadedServer(flask_app, host=host, port=port).start()
    except BaseException:
        sandbox.stop()
        raise
    click.echo(f"\n  Open the app:     {app_url}/")
    click.echo(f"  Sandbox tickets:  http://{shown}:{sandbox_port}/acme/tickets\n")
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


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def sandbox(ctx: click.Context) -> None:
    """Run the sandbox (a local fake Gorgias) alone: `gorgias-appkit sandbox --help` for options.

    The same command as `gorgias-sandbox` (the gorgias-sandbox distribution, installed with the
    kit's `testing` extra): --redirect-uri, --client-id, --account, and every SANDBOX_* switch.
    """
    try:
        from gorgias_sandbox.cli import command
    except ImportError:
        raise click.ClickException(
            "the sandbox is its own distribution: pip install 'gorgias-appkit[testing]'"
        ) from None
    command.main(args=ctx.args, prog_name="gorgias-appkit sandbox", standalone_mode=True)
