"""Create the SQLAlchemy engine, run the Alembic migrations, check the database is there.

SQLite is tuned for several processes on one machine: WAL (readers never block), a busy
timeout, and transactions we begin ourselves so that a locking transaction can be
``BEGIN IMMEDIATE`` (the SQLite form of a row lock: one writer at a time, REL-01).

What goes wrong at start-up (no driver, a bad URL, a server that does not answer, a SQLite
file in a folder that does not exist, a schema older than this version) becomes a
:class:`ConfigError` or :class:`StoreError` saying what to fix in one sentence, never a
traceback; a command that only reads never creates a database (:func:`require_schema`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigError
from ..errors import StoreError
from .reconnect import RECYCLE_SECONDS
from .reconnect import ping_after_idle

WRITE_LOCK = "gorgias_write_lock"
VERSION_TABLE = "gorgias_appkit_alembic_version"
_MIGRATION_LOCK_KEY = 0x6A6F7267  # arbitrary, constant advisory-lock key for migrations
_MIGRATIONS = Path(__file__).with_name("migrations")
MAX_OVERFLOW = 40  # above the 5 pooled connections: room for refresh-due's 32 threads


def make_engine(url: str, *, ping_after_idle: float = 30.0, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, a busy timeout and locking begins.

    A server database gets no ping before each use: connections idle ``ping_after_idle``
    seconds are pinged, and dropped ones are survived by retrying (:mod:`.reconnect`).
    """
    try:
        return _make_engine(url, ping_after_idle, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        extra = " (pip install 'gorgias-appkit[postgres]')" if "postgres" in url else ""
        raise ConfigError(
            [f"GORGIAS_DATABASE_URL: its database driver is not installed{extra}"]
        ) from exc
    except ArgumentError as exc:
        raise ConfigError(["GORGIAS_DATABASE_URL is not a database URL"]) from exc


def _make_engine(url: str, ping_idle: float, **kwargs: Any) -> Engine:
    # Connections open on demand: a web worker uses one or two, `refresh-due --concurrency N`
    # one per thread, so the pool may grow past SQLAlchemy's default 15 when asked to.
    if make_url(url).database not in (None, "", ":memory:"):  # an in-memory SQLite has no pool
        kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    if url.startswith("sqlite"):
        connect_args = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_recycle", RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    ping_after_idle(engine, ping_idle)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so we can choose BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_LOCK)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to run from several processes at once."""
    config = _config()
    try:
        with engine.connect().execution_options(**{WRITE_LOCK: True}) as conn, conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")  # every branch of the migration tree
    except SQLAlchemyError as exc:
        raise unreachable(engine, exc) from exc


def ping(engine: Engine) -> None:
    """Raise :class:`StoreError` if the database does not answer (health checks)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise unreachable(engine, exc) from exc


def head_revisions() -> frozenset[str]:
    """The newest migrations this version of the kit knows (one per branch of the tree)."""
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(engine: Engine) -> frozenset[str]:
    """The migrations the database is at (empty before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return frozenset(context.get_current_heads())
    except SQLAlchemyError as exc:
        raise unreachable(engine, exc) from exc


def current_revision(engine: Engine) -> str | None:
    """The schema's revision(s) as one string (``None`` before the first upgrade)."""
    return ", ".join(sorted(current_revisions(engine))) or None


def require_schema(engine: Engine) -> None:
    """Raise :class:`StoreError` unless the database exists and has the newest schema.

    For commands that only read: a mistyped SQLite path is reported, never created.
    """
    database = engine.url.database
    sqlite_file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
    if sqlite_file and not Path(str(database)).exists():
        raise StoreError(
            f"there is no database at {database}: check GORGIAS_DATABASE_URL "
            "(or create it with `gorgias-appkit db upgrade`)"
        )
    have, want = current_revisions(engine), head_revisions()
    if have != want:
        raise StoreError(
            f"the database schema is at {', '.join(sorted(have)) or 'nothing'}, this version "
            f"needs {', '.join(sorted(want))}: run `gorgias-appkit db upgrade`"
        )


def unreachable(engine: Engine, exc: SQLAlchemyError) -> StoreError:
    """One sentence for a database that cannot be opened, naming it without its password."""
    where = make_url(engine.url).render_as_string(hide_password=True)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        folder = Path(database).parent
        if not folder.is_dir():
            return StoreError(
                f"the folder {folder} does not exist: create it, or fix GORGIAS_DATABASE_URL"
            )
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:200]
    return StoreError(f"cannot open the database {where}: {reason}")
