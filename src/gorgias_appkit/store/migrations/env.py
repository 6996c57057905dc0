"""Alembic environment: always runs on a connection the kit hands over (see engine.upgrade)."""

from __future__ import annotations

from alembic import context

from gorgias_appkit.store.engine import VERSION_TABLE
from gorgias_appkit.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
