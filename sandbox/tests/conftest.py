"""Fixtures for the sandbox suite: an in-process app (httpx WSGITransport) and a live server."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from gorgias_sandbox import SandboxConfig, SandboxServer, World, create_sandbox, world_of

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
FULL_SCOPE = (
    "openid email profile offline account:read tickets:read tickets:write "
    "customers:read users:read integrations:read integrations:write"
)


class Flow:
    """Drives the OAuth dance and the API against one sandbox through one httpx client.

    Test modules cannot import conftest (importlib mode), so shared constants and helpers
    live on this class and reach tests through the ``flow`` / ``live_flow`` fixtures.
    """

    CLIENT_ID = CLIENT_ID
    CLIENT_SECRET = CLIENT_SECRET
    REDIRECT_URI = REDIRECT_URI
    FULL_SCOPE = FULL_SCOPE

    @staticmethod
    def pkce_pair() -> tuple[str, str]:
        """Return a (verifier, S256 challenge) pair."""
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @staticmethod
    def query_of(response: httpx.Response) -> dict[str, str]:
        """The query parameters of a redirect's Location."""
        location = response.headers["location"]
        return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}

    def __init__(self, http: httpx.Client, world: World) -> None:
        self.http, self.world = http, world

    def configure(self, **changes: Any) -> None:
        self.world.configure(changes)

    def authorize_params(self, scope: str = FULL_SCOPE, **extra: Any) -> dict[str, Any]:
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "st-" + secrets.token_hex(4),
            "nonce": "nonce-1",
        }
        params.update({k: v for k, v in extra.items() if v is not None})
        return params

    def consent(self, account: str = "acme", **params: Any) -> httpx.Response:
        return self.http.get(f"/{account}/oauth/authorize", params=self.authorize_params(**params))

    def decide(
        self, decision: str, account: str = "acme", user_id: int | None = None, **params: Any
    ) -> httpx.Response:
        """Submit the consent form the way a browser would (query string kept)."""
        owner = self.world.accounts[account].owner()["id"] if user_id is None else user_id
        return self.http.post(
            f"/{account}/oauth/authorize",
            params=self.authorize_params(**params),
            data={"user_id": str(owner), "decision": decision},
        )

    def code(self, account: str = "acme", **params: Any) -> str:
        response = self.decide("approve", account, **params)
        assert response.status_code == 302, response.text
        return self.query_of(response)["code"]

    def exchange(
        self,
        code: str,
        account: str = "acme",
        redirect_uri: str = REDIRECT_URI,
        auth: Any = (CLIENT_ID, CLIENT_SECRET),
        **extra: Any,
    ) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        data.update(extra)
        return self.http.post(f"/{account}/oauth/token", data=data, auth=auth)

    def tokens(self, account: str = "acme", scope: str = FULL_SCOPE) -> dict[str, Any]:
        response = self.exchange(self.code(account, scope=scope), account)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def refresh(
        self, refresh_token: str, account: str = "acme", auth: Any = (CLIENT_ID, CLIENT_SECRET)
    ) -> httpx.Response:
        return self.http.post(
            f"/{account}/oauth/token",
            auth=auth,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def revoke(self, token: str, account: str = "acme", **extra: Any) -> httpx.Response:
        return self.http.post(
            f"/{account}/oauth/revoke",
            data={"token": token, **extra},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )

    def api(
        self, method: str, path: str, token: str | None, account: str = "acme", **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, f"/{account}/api{path}", headers=headers, **kwargs)

    def grants(self, account: str = "acme") -> list[dict[str, Any]]:
        return self.world.grants(account)


@pytest.fixture
def app() -> Any:
    """A fresh in-process sandbox app with default (Gorgias-like) settings."""
    return create_sandbox(SandboxConfig())


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    """An httpx client talking to ``app`` in-process."""
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://sandbox.test") as client:
        yield client


@pytest.fixture
def flow(http: httpx.Client, app: Any) -> Flow:
    """OAuth/API helper bound to the in-process app."""
    return Flow(http, world_of(app))


@pytest.fixture(scope="session")
def live_server() -> Iterator[SandboxServer]:
    """One real threaded sandbox server for the whole session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def live(live_server: SandboxServer) -> Iterator[SandboxServer]:
    """The live server, reset to start-up state for this test."""
    live_server.world.reset()
    yield live_server
    live_server.world.reset()


@pytest.fixture
def live_flow(live: SandboxServer) -> Iterator[Flow]:
    """OAuth/API helper over real HTTP to the live server."""
    with httpx.Client(base_url=live.url, timeout=5.0) as client:
        yield Flow(client, live.world)
