"""SQLAlchemy Core tables on the kit's own MetaData (never a host app's declarative Base).

The Alembic migrations in ``migrations/versions`` create exactly these tables; a test compares
them. Datetimes are stored as UTC and always come back aware.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Dialect
from sqlalchemy import Float
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """An aware-UTC datetime on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


installations = Table(
    "gorgias_installations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(63), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("access_token", Text, nullable=True),
    Column("refresh_token", Text, nullable=True),
    Column("token_type", String(20), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("scopes", Text, nullable=False, default=""),
    Column("user_id", String(64), nullable=True),
    Column("user_email", String(320), nullable=True),
    Column("installed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_refresh_at", UTCDateTime, nullable=True),
    Column("refresh_failures", Integer, nullable=False, default=0),
    Column("next_refresh_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    # Which refresh-due runner took this row, until when (store/sql/claims.py).
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    # The row lock on SQLite, which has no row locks (store/sql/row_lease.py); unused on PostgreSQL.
    Column("locked_by", String(32), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
)
Index("ix_gorgias_installations_expires_at", installations.c.expires_at)

install_states = Table(
    "gorgias_install_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("browser_hash", String(64), nullable=False),
    Column("account", String(63), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("nonce", Text, nullable=False),
    Column("code_verifier", Text, nullable=False),
    Column("return_to", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_gorgias_install_states_expires_at", install_states.c.expires_at)

install_events = Table(
    "gorgias_install_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(63), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event", String(40), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=True),
    Column("detail", Text, nullable=True),
)
Index("ix_gorgias_install_events_account_at", install_events.c.account, install_events.c.at)

# Rate budget per account, shared by every process of the app: a leaky bucket whose
# level drains at capacity/window per second. `updated_at` is POSIX seconds (float).
rate_buckets = Table(
    "gorgias_rate_buckets",
    metadata,
    Column("account", String(63), primary_key=True),
    Column("level", Float, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("window", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Every object the app created in an account, so disconnect can remove them.
ledger = Table(
    "gorgias_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(63), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("remote_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Column("detail", Text, nullable=True),
    UniqueConstraint("account", "kind", "remote_id", name="uq_gorgias_ledger_object"),
)
Index("ix_gorgias_ledger_account", ledger.c.account)

# Refresh tokens whose upstream revocation must be retried (REL-10: a 503 is retried later).
pending_revocations = Table(
    "gorgias_pending_revocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(63), nullable=False),
    Column("token", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Browser sessions: the signed cookie carries a random id; only its SHA-256 is
# stored. A session ends when its row goes: logout, disconnect, a reinstall elsewhere, expiry.
web_sessions = Table(
    "gorgias_web_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("admin_user", String(255), nullable=True),
    Column("admin_since", UTCDateTime, nullable=True),
)
Index("ix_gorgias_web_sessions_expires_at", web_sessions.c.expires_at)
Index("ix_gorgias_web_sessions_last_seen_at", web_sessions.c.last_seen_at)

# The accounts each session may view, one row per grant, so a disconnect or a reinstall
# elsewhere finds every session holding the account with one indexed query.
web_session_accounts = Table(
    "gorgias_web_session_accounts",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("account", String(63), primary_key=True),
    Column("granted_at", UTCDateTime, nullable=False),
)
Index("ix_gorgias_web_session_accounts_account", web_session_accounts.c.account)

# Throttle counters when no Redis is configured: one fixed window per
# key, shared by every process on the database. `expires_at` is POSIX seconds (float).
throttle_counters = Table(
    "gorgias_throttle_counters",
    metadata,
    Column("counter_key", String(200), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)
Index("ix_gorgias_throttle_counters_expires_at", throttle_counters.c.expires_at)

# Per-installation keys Gorgias sends with every integration call (inbound/credentials.py).
# The key is sealed with the keyring, bound to `inbound_key:{account}:{key_id}`; `retires_at`
# is NULL for the current key and set for a rotated-out key still accepted until then.
inbound_keys = Table(
    "gorgias_inbound_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("account", String(63), nullable=False),
    Column("sealed_key", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retires_at", UTCDateTime, nullable=True),
)
Index("ix_gorgias_inbound_keys_account", inbound_keys.c.account)

# Every event Gorgias delivered, once (dedupe_key is unique): the source of truth the task
# queue works from. `payload` is the call's parsed body as JSON.
inbound_events = Table(
    "gorgias_inbound_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(63), nullable=False),
    Column("integration", String(60), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("dedupe_key", String(64), nullable=False, unique=True),
    Column("ticket_id", String(32), nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("deliveries", Integer, nullable=False, default=1),
    Column("received_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
)
Index("ix_gorgias_inbound_events_status", inbound_events.c.status, inbound_events.c.next_attempt_at)
Index("ix_gorgias_inbound_events_account", inbound_events.c.account, inbound_events.c.id)

# How each declared integration of an account answers Gorgias (the 100-failure rule).
inbound_health = Table(
    "gorgias_inbound_health",
    metadata,
    Column("account", String(63), primary_key=True),
    Column("integration", String(60), primary_key=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("deactivated_at", UTCDateTime, nullable=True),
    Column("repaired_at", UTCDateTime, nullable=True),
)
