"""The live threaded server, concurrency, and the sandbox's import boundary."""

from __future__ import annotations

import ast
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

import gorgias_sandbox as sandbox_pkg
from gorgias_sandbox import SandboxConfig, SandboxServer


def test_server_on_ephemeral_port_serves_the_whole_flow(live_flow: Any, live: Any) -> None:
    """A SandboxServer on port 0 exposes .url and .world and serves OAuth and the API."""
    assert live.url.startswith("http://127.0.0.1:") and live.port > 0
    tokens = live_flow.tokens()
    response = live_flow.api("GET", "/account", tokens["access_token"])
    assert response.status_code == 200 and live.world.grants("acme")
    assert live.account_url("acme") == f"{live.url}/acme"
    assert live.control.count("acme", "oauth.token") == 1


def test_issuer_follows_the_request_host(live_flow: Any, live: Any) -> None:
    """The iss claim is the account base URL on whatever port the server runs."""
    import jwt

    claims = jwt.decode(live_flow.tokens()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == live.account_url("acme")


def test_concurrent_api_calls_are_all_served_and_counted(live_flow: Any, live: Any) -> None:
    """40 parallel API calls from 8 threads all succeed and are counted exactly."""
    token = live_flow.tokens()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def call(_: int) -> int:
        return live_flow.http.get("/acme/api/tickets", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:  # httpx.Client is thread-safe
        statuses = list(pool.map(call, range(40)))
    assert statuses == [200] * 40
    assert live.control.count("acme", "api.GET /api/tickets") == 40
    assert live.world.bucket("acme").peek().used <= 40


def test_concurrent_refreshes_with_rotation_lose_the_grant(live_flow: Any, live: Any) -> None:
    """Two simultaneous refreshes of one rotating token: one wins, the other kills the grant."""
    live_flow.configure(rotate_refresh_tokens=True)
    rt = live_flow.tokens()["refresh_token"]
    barrier, results = threading.Barrier(2), []

    def refresh() -> None:
        barrier.wait()
        results.append(live_flow.refresh(rt).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 400]
    (grant,) = live.world.grants("acme")
    assert grant["status"] == "revoked"
    assert [e["result"] for e in grant["refresh_log"]] == ["ok", "reuse_detected"]


def test_two_servers_are_independent() -> None:
    """Each SandboxServer has its own World and config."""
    with SandboxServer(SandboxConfig(accounts=("solo",))) as one:
        assert httpx.get(f"{one.url}/acme/api/account").status_code == 404
        assert httpx.get(f"{one.url}/solo/api/account").status_code == 401


def test_sandbox_imports_nothing_else_from_the_kit() -> None:
    """No sandbox module imports gorgias_appkit outside gorgias_sandbox."""
    root = Path(sandbox_pkg.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level == 1 else [f"<relative level {node.level}>"]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                (path.name, n)
                for n in names
                if n.startswith("<")
                or (n.startswith("gorgias_appkit") and not n.startswith("gorgias_sandbox"))
            ]
    assert offenders == []
