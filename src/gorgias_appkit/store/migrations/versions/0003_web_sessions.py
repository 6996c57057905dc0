"""Browser sessions, their account grants, and throttle counters.

Revision ID: 0003_web_sessions
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gorgias_appkit.store.schema import UTCDateTime

revision = "0003_web_sessions"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gorgias_web_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("admin_user", sa.String(255), nullable=True),
        sa.Column("admin_since", UTCDateTime, nullable=True),
    )
    op.create_index("ix_gorgias_web_sessions_expires_at", "gorgias_web_sessions", ["expires_at"])
    op.create_index(
        "ix_gorgias_web_sessions_last_seen_at", "gorgias_web_sessions", ["last_seen_at"]
    )
    op.create_table(
        "gorgias_web_session_accounts",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(63), primary_key=True),
        sa.Column("granted_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_gorgias_web_session_accounts_account", "gorgias_web_session_accounts", ["account"]
    )
    op.create_table(
        "gorgias_throttle_counters",
        sa.Column("counter_key", sa.String(200), primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_gorgias_throttle_counters_expires_at", "gorgias_throttle_counters", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("gorgias_throttle_counters")
    op.drop_table("gorgias_web_session_accounts")
    op.drop_table("gorgias_web_sessions")
