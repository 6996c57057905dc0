"""Refresh claims and SQLite row leases on installations.

``claimed_by`` / ``claimed_until``: which ``refresh-due`` runner took a due installation, so a
second runner skips it (store/sql/claims.py). ``locked_by`` / ``locked_until``: the per-row lock
on SQLite, which has no row locks of its own (store/sql/row_lease.py); PostgreSQL leaves them
empty and locks rows with ``SELECT … FOR UPDATE``.

Revision ID: 0004_refresh_claims
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gorgias_appkit.store.schema import UTCDateTime

revision = "0004_refresh_claims"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("claimed_by", sa.String(64)),
    ("claimed_until", UTCDateTime),
    ("locked_by", sa.String(32)),
    ("locked_until", UTCDateTime),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("gorgias_installations", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gorgias_installations") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
