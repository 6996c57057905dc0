"""Shared fixtures: the sandbox over real HTTP, databases per tier, the reference app.

Tiers: SQLite always; PostgreSQL when ``TEST_DATABASE_URL`` is set. ``TEST_REQUIRE_TIERS``
(set by ``.ci/run``) turns a missing tier from a skip into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import text

from gorgias_appkit.starter import create_app
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxConfig
from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "s3cr+t/with:odd%chars"  # RFC 6749 §2.3.1 encoding is exercised on every test
APP_URL = "http://127.0.0.1:8000"
REQUIRED = {t.strip() for t in os.environ.get("TEST_REQUIRE_TIERS", "").split(",") if t.strip()}
_SKIPPED: set[str] = set()


def tier_unavailable(tier: str, why: str) -> None:
    """Skip (on a laptop) or fail (where CI requires the tier)."""
    if tier in REQUIRED:
        pytest.fail(f"required test tier {tier!r} is unavailable: {why}")
    _SKIPPED.add(f"{tier}: {why}")
    pytest.skip(f"{tier} tier skipped: {why}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED:
        terminalreporter.section("skipped test tiers")
        for line in sorted(_SKIPPED):
            terminalreporter.write_line(line)


# -- processes on real ports ----------------------------------------------------------------
def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> httpx.Response:
    """Poll ``url`` until it answers 200 while ``proc`` keeps running; return that answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited early"
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


# -- sandbox: the public fixtures of gorgias_appkit.testing.sandbox (-p in pyproject) ----------
@pytest.fixture(scope="session")
def gorgias_sandbox_config() -> SandboxConfig:
    """The sandbox knows this suite's client (an odd secret: RFC 6749 §2.3.1 encoding)."""
    return SandboxConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=(f"{APP_URL}/oauth/callback",),
        redirect_uri_match="exact",  # the suite checks that unregistered callbacks are refused
    )


@pytest.fixture(scope="session")
def sandbox_server(gorgias_sandbox_server: SandboxServer) -> SandboxServer:
    return gorgias_sandbox_server


@pytest.fixture
def sandbox(gorgias_sandbox: SandboxControl) -> SandboxControl:
    """The sandbox, reset to its start-up state for each test."""
    return gorgias_sandbox


# -- databases -------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test on each tier."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kit.sqlite3'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file (tests that only need one tier)."""
    return f"sqlite:///{tmp_path / 'kit.sqlite3'}"


def _postgres_schema() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        tier_unavailable("postgres", "TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)  # type: ignore[arg-type]
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any connection failure means the tier is down
        admin.dispose()
        tier_unavailable("postgres", f"cannot connect: {type(exc).__name__}")
    sep = "&" if "?" in base else "?"  # type: ignore[operator]
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- the app ---------------------------------------------------------------------------------
def kit_env(sandbox_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """GORGIAS_* settings pointing at the sandbox, in production mode with explicit keys."""
    return {
        "GORGIAS_CLIENT_ID": CLIENT_ID,
        "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
        "GORGIAS_APP_URL": APP_URL,
        "GORGIAS_URL_TEMPLATE": f"{sandbox_url}/{{account}}",
        "GORGIAS_DATABASE_URL": database_url,
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "x" * 40,
        **extra,
    }


@pytest.fixture
def app_config(sandbox: SandboxControl, database_url: str) -> dict[str, str]:
    return kit_env(sandbox.base_url, database_url)


@pytest.fixture
def app(app_config: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**app_config, "TESTING": True})
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["gorgias_appkit"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- install helper --------------------------------------------------------------------------
@pytest.fixture
def installer(client: FlaskClient, sandbox: SandboxControl) -> Iterator[InstallDriver]:
    driver = InstallDriver(client)
    yield driver
    driver.close()
