"""pytest fixtures that run the sandbox, and a driver that installs through your app like a browser.

Enable the fixtures in your ``conftest.py``::

    pytest_plugins = ["gorgias_appkit.testing.sandbox"]

``gorgias_sandbox`` is a :class:`~gorgias_sandbox.SandboxControl` for a sandbox served on an
ephemeral loopback port for the whole session and reset before each test; point the app at
``gorgias_sandbox.base_url + "/{account}"`` (``GORGIAS_URL_TEMPLATE``). Override the
``gorgias_sandbox_config`` fixture to change its client credentials or switches. Needs the
``gorgias-sandbox`` distribution (``pip install 'gorgias-appkit[testing]'``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
import pytest

from gorgias_sandbox import SandboxConfig
from gorgias_sandbox import SandboxControl
from gorgias_sandbox import SandboxServer

__all__ = [
    "Callback",
    "InstallDriver",
    "gorgias_sandbox",
    "gorgias_sandbox_config",
    "gorgias_sandbox_server",
]


@pytest.fixture(scope="session")
def gorgias_sandbox_config() -> SandboxConfig:
    """The sandbox's settings (its defaults: Gorgias' documented behaviour)."""
    return SandboxConfig()


@pytest.fixture(scope="session")
def gorgias_sandbox_server(gorgias_sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    """One sandbox on a real loopback socket for the whole test session."""
    with SandboxServer(gorgias_sandbox_config) as server:
        yield server


@pytest.fixture
def gorgias_sandbox(gorgias_sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    """The sandbox, reset to its start-up state before and after each test."""
    control = SandboxControl(gorgias_sandbox_server.url)
    control.reset()
    yield control
    control.reset()
    control.close()


class _Browser(Protocol):
    """What the driver needs of the app's side: Flask's test client, or an httpx client."""

    def get(self, url: str) -> Any: ...


@dataclass
class Callback:
    """Where the sandbox sent the browser back to."""

    url: str

    @property
    def query(self) -> dict[str, str]:
        """The callback's query parameters."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    @property
    def path_and_query(self) -> str:
        """The callback without scheme and host (what a test client requests)."""
        parts = urlsplit(self.url)
        return f"{parts.path}?{parts.query}"


class InstallDriver:
    """Drive an install like a browser: app → sandbox consent page → app callback."""

    def __init__(self, app: _Browser) -> None:
        self.app = app
        self.http = httpx.Client(follow_redirects=False, timeout=10)

    def close(self) -> None:
        """Release the HTTP client used for the sandbox's pages."""
        self.http.close()

    def start(self, account: str = "acme") -> str:
        """GET /oauth/install and return the authorize URL it redirects to."""
        response = self.app.get(f"/oauth/install?account={account}")
        if response.status_code != 302:
            raise AssertionError(f"the install did not redirect: {response.status_code}")
        return str(response.headers["Location"])

    def consent(self, authorize_url: str, decision: str = "approve") -> Callback:
        """Load the consent page and press a button; return the redirect to the app."""
        page = self.http.get(authorize_url)
        if page.status_code != 200:
            raise AssertionError(f"no consent page: {page.status_code} {page.text[:200]}")
        users = re.findall(r'<option[^>]*value="([^"]+)"', page.text)
        form = {"decision": decision}
        if users:
            form["user_id"] = users[0]
        answer = self.http.post(authorize_url, data=form)
        if answer.status_code not in (302, 303):
            raise AssertionError(f"consent did not redirect: {answer.status_code}")
        return Callback(answer.headers["Location"])

    def finish(self, callback: Callback) -> Any:
        """Send the browser back to the app's callback."""
        return self.app.get(callback.path_and_query)

    def install(self, account: str = "acme") -> Any:
        """The whole happy path; returns the callback response."""
        return self.finish(self.consent(self.start(account)))
