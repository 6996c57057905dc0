"""Issue 12, goal 1: no ping before every read, yet a killed PostgreSQL connection is survived.

The kit's connections carry a unique ``application_name``; an administrator connection kills
them (``pg_terminate_backend``, what a server restart or failover does to a client) between
calls. Each call must still succeed: the dropped connection is noticed by the statement itself,
the pool is invalidated and the work runs once more on a new connection.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from gorgias_appkit import Kit
from gorgias_sandbox import SandboxControl

from ..conftest import _postgres_schema
from ..conftest import kit_env
from .lifecycle_support import install


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A scratch schema on the PostgreSQL tier."""
    yield from _postgres_schema()


def kill_connections(name: str) -> int:
    """Terminate every server connection whose application_name is ``name``; return how many."""
    admin = create_engine(os.environ["TEST_DATABASE_URL"])
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        return int(killed)
    finally:
        admin.dispose()


@pytest.mark.parametrize("ping_after_idle", ["30", "0"])
def test_a_killed_connection_is_survived_on_every_hot_path(
    sandbox: SandboxControl, postgres_url: str, ping_after_idle: str
) -> None:
    """Reads, the refresh lock, a budget slot and a claim each survive their connection dying."""
    name = f"kit-{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url}&application_name={name}"
    env = kit_env(
        sandbox.base_url,
        url,
        GORGIAS_TOKEN_CACHE_SECONDS="0",  # every access_token_for reads the row
        GORGIAS_DB_PING_AFTER_IDLE=ping_after_idle,
    )
    kit = Kit.from_env(env)
    try:
        install(kit, sandbox)
        client = kit.client_for("acme")
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("read", lambda: kit.installation("acme")),
            ("token", lambda: kit.access_token_for("acme")),
            ("api call (budget slot)", lambda: client.get("/account")),
            ("refresh (row lock)", lambda: kit.refresh_now("acme")),
            ("refresh-due (claim)", lambda: kit.refresh_due(within=60)),
        ]
        for step, call in steps:
            assert kill_connections(name) >= 1, f"no connection to kill before {step}"
            assert call() is not None, step
    finally:
        kit.close()
