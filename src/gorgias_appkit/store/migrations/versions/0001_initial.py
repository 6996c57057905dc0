"""Installations, install states and install history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gorgias_appkit.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gorgias_installations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(63), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("access_token", sa.Text, nullable=True),
        sa.Column("refresh_token", sa.Text, nullable=True),
        sa.Column("token_type", sa.String(20), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("user_email", sa.String(320), nullable=True),
        sa.Column("installed_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("last_refresh_at", UTCDateTime, nullable=True),
        sa.Column("refresh_failures", sa.Integer, nullable=False),
        sa.Column("next_refresh_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_gorgias_installations_expires_at", "gorgias_installations", ["expires_at"])
    op.create_table(
        "gorgias_install_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("nonce", sa.Text, nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        sa.Column("return_to", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_gorgias_install_states_expires_at", "gorgias_install_states", ["expires_at"]
    )
    op.create_table(
        "gorgias_install_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(63), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_gorgias_install_events_account_at", "gorgias_install_events", ["account", "at"]
    )


def downgrade() -> None:
    op.drop_table("gorgias_install_events")
    op.drop_table("gorgias_install_states")
    op.drop_table("gorgias_installations")
