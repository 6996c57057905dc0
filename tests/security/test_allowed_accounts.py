"""Enabled accounts: with GORGIAS_ALLOWED_ACCOUNTS a draft app installs only into those accounts.

Others get a clear page and no outbound request at all (issue 5; the config parsing is in
tests/unit/test_config.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

from ..conftest import kit_env
from .support import Network
from .support import build_app
from .support import consent
from .support import kit_of
from .support import sandbox_calls
from .support import start


@pytest.fixture(scope="module")
def draft(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, Network]]:
    """A draft app enabled for the partner's own test accounts only (one for the module)."""
    folder = tmp_path_factory.mktemp("draft")
    network = Network(sandbox_server.url)
    env = kit_env(
        sandbox_server.url,
        f"sqlite:///{folder / 'kit.sqlite3'}",
        GORGIAS_ALLOWED_ACCOUNTS="acme, Globex",
    )
    app = build_app(env, folder, http=network.client)
    yield app, network
    kit_of(app).close()


@pytest.fixture
def draft_app(draft: tuple[Flask, Network], sandbox: SandboxControl) -> Flask:
    draft[1].sent.clear()
    return draft[0]


@pytest.fixture
def network(draft: tuple[Flask, Network]) -> Network:
    return draft[1]


@pytest.mark.parametrize("account", ["initech", "INITECH", "acme-2", "globex-test", "acm"])
def test_other_accounts_get_a_clear_page_and_no_outbound_request(
    account: str, draft_app: Flask, network: Network, sandbox: SandboxControl
) -> None:
    """Enabled accounts: anyone else is told the app is not available, and nothing is called."""
    response = draft_app.test_client().get("/oauth/install", query_string={"account": account})
    assert response.status_code == 403
    assert "not available for that account yet" in response.get_data(as_text=True)
    assert "Location" not in response.headers
    assert network.sent == [] and sandbox_calls(sandbox) == 0


@pytest.mark.parametrize("account", ["acme", "GLOBEX"])
def test_enabled_accounts_install(account: str, draft_app: Flask) -> None:
    """Enabled accounts: the listed accounts (case-folded) install normally."""
    client = draft_app.test_client()
    response = client.get("/oauth/callback", query_string=consent(start(client, account)))
    assert response.status_code == 303


def test_hostile_values_are_still_refused_first(draft_app: Flask, network: Network) -> None:
    """Enabled accounts / SEC-01: the account is validated before the allow list is consulted."""
    response = draft_app.test_client().get("/oauth/install?account=acme.evil.com")
    assert response.status_code == 400
    assert network.sent == []
