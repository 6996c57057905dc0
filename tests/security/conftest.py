"""Fixtures of the security suite (one module per SEC item of shared/docs/security-reliability.md).

``network`` is an ``httpx.Client`` whose only real route is the sandbox: a request to any other
host lands in a recorder, so "no request reaches another host" is checked, not assumed.
``net_app`` is a minimal partner app (the kit's blueprint only) built on that client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import Kit
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

from ..conftest import kit_env
from .support import Network
from .support import build_app
from .support import kit_of


@pytest.fixture
def kit(app: Flask) -> Kit:
    """The starter app's kit."""
    return kit_of(app)


@pytest.fixture
def network(sandbox: SandboxControl) -> Iterator[Network]:
    """Real HTTP to the sandbox, a recorder for everything else."""
    net = Network(sandbox.base_url)
    yield net
    net.client.close()


@pytest.fixture
def net_app(
    sandbox: SandboxControl, database_url: str, tmp_path: Path, network: Network
) -> Iterator[Flask]:
    """A partner app whose kit uses ``network`` for every outbound call."""
    app = build_app(kit_env(sandbox.base_url, database_url), tmp_path, http=network.client)
    yield app
    kit_of(app).close()


@pytest.fixture
def net_client(net_app: Flask) -> FlaskClient:
    """A browser on ``net_app``."""
    return net_app.test_client()


@pytest.fixture(scope="module")
def shared_network(sandbox_server: SandboxServer) -> Iterator[Network]:
    """One ``network`` for a whole module (input matrices that never reach the database)."""
    net = Network(sandbox_server.url)
    yield net
    net.client.close()


@pytest.fixture(scope="module")
def shared_app(
    sandbox_server: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
    shared_network: Network,
) -> Iterator[Flask]:
    """One SQLite partner app for a whole module, on ``shared_network``."""
    folder = tmp_path_factory.mktemp("shared")
    # A whole module's installs come from one test client's address: lift the install throttle
    # (issue 9 item 8), which its own tests check at the default.
    env = kit_env(
        sandbox_server.url,
        f"sqlite:///{folder / 'kit.sqlite3'}",
        GORGIAS_INSTALL_RATE="100000 per minute",
    )
    app = build_app(env, folder, http=shared_network.client)
    yield app
    kit_of(app).close()


@pytest.fixture
def quiet_network(shared_network: Network, sandbox: SandboxControl) -> Network:
    """``shared_network`` with its request log emptied (and the sandbox reset) for this test."""
    shared_network.sent.clear()
    shared_network.elsewhere.requests.clear()
    return shared_network


@pytest.fixture
def shared_installer(
    shared_app: Flask, quiet_network: Network, sandbox: SandboxControl
) -> Iterator[InstallDriver]:
    """A fresh browser on the module's ``shared_app``, with no installation and no cached keys.

    Modules whose checks do not depend on the reference app or the database tier point their
    ``installer``/``client``/``app`` fixtures here: one app per module instead of one per test.
    """
    kit = kit_of(shared_app)
    for installation in list(kit.installations()):
        kit.store.delete(installation.account)
    kit.jwks.forget()
    actions = InstallDriver(shared_app.test_client())
    yield actions
    actions.close()
