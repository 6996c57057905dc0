"""Helpers for the token lifecycle tests (issue 3): kits on a movable clock, installs, checks.

Everything goes through public interfaces: :class:`Kit`, :class:`SandboxControl`, and HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.core.retry import RetryPolicy
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env

# Retries fast enough for tests; the production default is oauth.client.TOKEN_BACKOFF.
FAST = RetryPolicy(base=0.05, cap=0.2, max_attempts=4, deadline=5.0)


class KitFactory:
    """Builds kits sharing one database and one encryption key, like app instances do."""

    def __init__(self, sandbox: SandboxControl, database_url: str) -> None:
        self.env = kit_env(sandbox.base_url, database_url)
        self.kits: list[Kit] = []

    def settings(self, **extra: str) -> KitSettings:
        return KitSettings.from_mapping({**self.env, **extra})

    def __call__(
        self, *, clock: Any = None, token_retry: RetryPolicy | None = FAST, **extra: str
    ) -> Kit:
        kit = Kit(self.settings(**extra), clock=clock, token_retry=token_retry)
        self.kits.append(kit)
        return kit

    def close(self) -> None:
        for kit in self.kits:
            kit.close()


def install(kit: Kit, sandbox: SandboxControl, account: str = "acme") -> None:
    """Install ``account`` through the kit, the merchant approving at once."""
    sandbox.configure(auto_approve=True)
    authorize = kit.begin_install(account, browser_id="test-browser")
    answer = httpx.get(authorize, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    kit.complete_install(query, browser_id="test-browser")


def refresh_calls(sandbox: SandboxControl, account: str = "acme") -> int:
    """Refresh-token grant requests the sandbox received for ``account``."""
    return sandbox.count(account, "oauth.token.refresh_token")


def grant(sandbox: SandboxControl, account: str = "acme") -> dict[str, Any]:
    """The newest grant of ``account`` at the sandbox."""
    return sandbox.grants(account)[-1]


def stored_refresh_token(kit: Kit, account: str = "acme") -> str:
    """The refresh token the kit holds; it must never be missing or empty (REL-02)."""
    installation = kit.installation(account)
    assert installation is not None and installation.tokens is not None
    token = installation.tokens.refresh_token
    assert token is not None and token.reveal(), "the stored refresh token is empty"
    return token.reveal()


def assert_no_superseded_use(sandbox: SandboxControl, account: str = "acme") -> None:
    """No refresh was ever attempted with a superseded (already rotated) refresh token."""
    for entry in grant(sandbox, account)["refresh_log"]:
        assert entry["status_before"] == "current", entry["result"]
