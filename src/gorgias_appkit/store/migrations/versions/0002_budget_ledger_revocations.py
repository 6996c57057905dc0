"""Rate buckets, the ledger of created objects, pending revocations.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gorgias_appkit.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gorgias_rate_buckets",
        sa.Column("account", sa.String(63), primary_key=True),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("window", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "gorgias_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.UniqueConstraint("account", "kind", "remote_id", name="uq_gorgias_ledger_object"),
    )
    op.create_index("ix_gorgias_ledger_account", "gorgias_ledger", ["account"])
    op.create_table(
        "gorgias_pending_revocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gorgias_pending_revocations")
    op.drop_table("gorgias_ledger")
    op.drop_table("gorgias_rate_buckets")
