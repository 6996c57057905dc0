"""The Alembic migrations build exactly the tables the code uses, on every database tier."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gorgias_appkit.store.engine import VERSION_TABLE
from gorgias_appkit.store.engine import current_revision
from gorgias_appkit.store.engine import make_engine
from gorgias_appkit.store.engine import upgrade
from gorgias_appkit.store.schema import metadata


def test_migrations_match_the_schema(database_url: str) -> None:
    """After `upgrade`, autogenerate finds no difference between the database and schema.py."""
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)  # idempotent: a second start-up changes nothing
        assert current_revision(engine) is not None
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            diff = [
                d
                for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
            ]
        assert diff == []
    finally:
        engine.dispose()
