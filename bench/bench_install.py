"""Install path: the upstream round trips of one install, counted and timed, cache cold and warm.

Issue 12, goal 5. The reference app (``gorgias_appkit.starter``) installs into a sandbox (in its
own process, publishing discovery documents and keys) the way a browser drives it. For each
install the app's own calls to the account are listed by kind, with the time each took (from
sending the request to the answer's headers), and the install's two halves are timed: the start
(``/oauth/install``, up to the redirect to Gorgias) and the callback (code exchange, id_token,
account confirmation, the lifecycle objects the app creates). Scenarios, side by side:

- discovery on, first install of an account (its issuer's documents not cached yet);
- discovery on, another account (each account is its own issuer: nothing to reuse);
- discovery on, the same account again within the hour (documents and keys cached);
- discovery on, start and callback served by two app processes (the callback's is cold);
- discovery off (``GORGIAS_ID_TOKEN_JWKS=off``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench import support

KINDS = {
    "/.well-known/openid-configuration": "discovery",
    "/.well-known/jwks.json": "JWKS",
    "/oauth/token": "token",
    "/api/account": "account",
    "/api/integrations": "integration",
    "/api/widgets": "widget",
}


def _kind(request: httpx.Request) -> str:
    """``discovery``, ``token``, ``widget PUT``...: what a request was for."""
    path = request.url.path
    for marker, kind in KINDS.items():
        if marker in path:
            return kind if request.method in ("GET", "POST") else f"{kind} {request.method}"
    return f"{request.method} {path}"


class Upstream:
    """Every request an app's HTTP client sends, with the seconds to its answer's headers."""

    def __init__(self, http: httpx.Client) -> None:
        self.sent: list[tuple[str, float]] = []
        self._started: dict[int, float] = {}
        http.event_hooks = {"request": [self._request], "response": [self._response]}

    def _request(self, request: httpx.Request) -> None:
        self._started[id(request)] = time.perf_counter()

    def _response(self, response: httpx.Response) -> None:
        started = self._started.pop(id(response.request), time.perf_counter())
        self.sent.append((_kind(response.request), time.perf_counter() - started))

    def take(self) -> list[tuple[str, float]]:
        sent, self.sent = self.sent, []
        return sent


def _app(env: dict[str, str], folder: Path) -> tuple[Any, Upstream]:
    from gorgias_appkit.starter import create_app

    app = create_app({**env, "TESTING": True})
    app.instance_path = str(folder)
    kit = app.extensions["gorgias_appkit"]
    return app, Upstream(kit.http)


def _install(
    starter: tuple[Any, Upstream], finisher: tuple[Any, Upstream], account: str
) -> tuple[list[tuple[str, float]], float, float]:
    from gorgias_appkit.testing.sandbox import InstallDriver

    start_client, end_client = starter[0].test_client(), finisher[0].test_client()
    driver = InstallDriver(start_client)
    began = time.perf_counter()
    authorize = driver.start(account)
    start_seconds = time.perf_counter() - began
    callback = driver.consent(authorize)
    cookie = start_client.get_cookie("gorgias_install")
    if cookie is not None and end_client is not start_client:  # the same browser, another worker
        end_client.set_cookie(cookie.key, cookie.value)
    began = time.perf_counter()
    answer = end_client.get(callback.path_and_query)
    end_seconds = time.perf_counter() - began
    assert answer.status_code == 303, answer.status_code
    driver.close()
    return starter[1].take() + finisher[1].take(), start_seconds, end_seconds


def _row(label: str, sent: list[tuple[str, float]], start: float, end: float) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds in sent:
        by_kind[kind].append(seconds)
    calls = ", ".join(
        f"{kind} {len(times)}x {sum(times) * 1e3:.1f} ms" for kind, times in by_kind.items()
    )
    upstream = sum(seconds for _, seconds in sent)
    print(
        f"  {label:<44} {len(sent)} round trips, {upstream * 1e3:5.1f} ms upstream; "
        f"start {start * 1e3:5.1f} ms, callback {end * 1e3:5.1f} ms"
    )
    print(f"  {'':<44} {calls}")


def run() -> None:
    """Print one line per scenario; called by ``python -m bench``."""
    logging.getLogger("gorgias_appkit").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory() as folder,
        support.served(
            "sandbox", publish_jwks=True, rate_limit_enabled=False, auto_approve=False
        ) as base,
    ):
        from gorgias_sandbox import SandboxControl

        control = SandboxControl(base)
        for account in ("shop-a", "shop-b", "shop-c", "shop-d"):
            control.create_account(account)
        database = f"sqlite:///{Path(folder) / 'install.sqlite3'}"
        env = support.kit_env(base, database)
        one = _app(env, Path(folder) / "one")
        two = _app(env, Path(folder) / "two")
        off = _app({**env, "GORGIAS_ID_TOKEN_JWKS": "off"}, Path(folder) / "off")
        print("  the app's calls to the account during one install (sandbox, one host):")
        _row("discovery on, first install of shop-a", *_install(one, one, "shop-a"))
        _row("discovery on, first install of shop-b", *_install(one, one, "shop-b"))
        _row("discovery on, shop-a again (cache warm)", *_install(one, one, "shop-a"))
        _row("discovery on, start and callback on 2 processes", *_install(one, two, "shop-c"))
        _row("discovery off, first install of shop-d", *_install(off, off, "shop-d"))
        for app, _ in (one, two, off):
            app.extensions["gorgias_appkit"].close()
        control.close()
