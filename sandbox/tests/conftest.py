"""Fixtures for the sandbox suite: an in-process app (httpx WSGITransport), a live server, and
a stub app (a tiny local JSON server) for HTTP integrations to call."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from gorgias_sandbox import (
    SandboxConfig,
    SandboxControl,
    SandboxServer,
    World,
    create_sandbox,
    world_of,
)

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


@pytest.fixture
def control(http: httpx.Client) -> SandboxControl:
    """A SandboxControl on the in-process app."""
    return SandboxControl("http://sandbox.test", http=http)


@dataclass
class Seen:
    """One request the stub app received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class StubApp:
    """A tiny JSON server standing in for the app an HTTP integration calls.

    Paths: ``/ok...`` answers ``answer`` (default: an echo of the request) as JSON; ``/slow``
    sleeps ``delay`` seconds first, ``/slow-once`` only on its first call; ``/fail`` answers
    500; ``/text`` answers 200 text/plain. Every request is recorded in ``seen``.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answer: Any = None
        self.delay = 0.6
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def requests_to(self, prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(prefix)]

    def _record(self, handler: BaseHTTPRequestHandler) -> Seen:
        length = int(handler.headers.get("Content-Length") or 0)
        seen = Seen(
            handler.command,
            handler.path,
            dict(handler.headers.items()),
            handler.rfile.read(length),
            time.monotonic(),
        )
        with self._lock:
            self.seen.append(seen)
            seen_before = sum(1 for s in self.seen if s.path == seen.path)
        once = handler.path.startswith("/slow-once")
        if handler.path.startswith("/slow") and (not once or seen_before == 1):
            time.sleep(self.delay)
        return seen

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                seen = stub._record(self)
                status, kind, body = 200, "application/json", b""
                if self.path.startswith("/fail"):
                    status, body = 500, b'{"error": "boom"}'
                elif self.path.startswith("/text"):
                    kind, body = "text/plain", b"hello"
                else:
                    echo = {"method": seen.method, "path": seen.path, "body": seen.body.decode()}
                    body = json.dumps(stub.answer if stub.answer is not None else echo).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sandbox gave up (timeout)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_app() -> Iterator[StubApp]:
    """A running stub app on a free loopback port."""
    stub = StubApp()
    yield stub
    stub.close()
