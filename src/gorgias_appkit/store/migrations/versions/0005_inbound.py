"""The inbound half: per-installation keys, delivered events, integration health.

Revision ID: 0005_inbound
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gorgias_appkit.store.schema import UTCDateTime

revision = "0005_inbound"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gorgias_inbound_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retires_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_gorgias_inbound_keys_account", "gorgias_inbound_keys", ["account"])
    op.create_table(
        "gorgias_inbound_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("integration", sa.String(60), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_gorgias_inbound_events_status",
        "gorgias_inbound_events",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_gorgias_inbound_events_account", "gorgias_inbound_events", ["account", "id"]
    )
    op.create_table(
        "gorgias_inbound_health",
        sa.Column("account", sa.String(63), primary_key=True),
        sa.Column("integration", sa.String(60), primary_key=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_success_at", UTCDateTime, nullable=True),
        sa.Column("last_failure_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("deactivated_at", UTCDateTime, nullable=True),
        sa.Column("repaired_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("gorgias_inbound_health")
    op.drop_table("gorgias_inbound_events")
    op.drop_table("gorgias_inbound_keys")
