"""Issue 9 item 8: ``/oauth/install`` is bounded: per-address limit, bounded caches, purged states.

200 random account names from one address used to make 200 stored states, 200 outbound
discovery fetches and 200 cache entries. Now the address's window (``GORGIAS_INSTALL_RATE``,
20 per minute) stops it with a 429 page before any state or fetch; the discovery cache holds at
most ``MAX_ISSUERS`` issuers; the per-account locks go when unused; ``refresh-due`` purges
expired install states (and sessions, and throttle counters) on every run.
"""

from __future__ import annotations

import gc
import json
import secrets
from datetime import timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.cli import main
from gorgias_appkit.core.account import Account
from gorgias_appkit.core.records import PendingInstall
from gorgias_appkit.core.secret import Secret
from gorgias_appkit.oauth.discovery import MAX_ISSUERS
from gorgias_appkit.testing import FakeClock
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .support import Network
from .support import kit_of


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _random_account() -> str:
    return "shop-" + secrets.token_hex(6)


def test_item8_random_accounts_from_one_address_stop_at_the_limit(
    net_app: Flask, network: Network
) -> None:
    """Issue 9 item 8: 200 made-up accounts: 20 start, 180 get 429, with no state and no fetch."""
    client = _from(net_app, "203.0.113.9")
    kit = kit_of(net_app)
    statuses = []
    for n in range(200):
        if n == 20:
            fetched, stored, cached = len(network.sent), kit.states.count(), len(kit.jwks)
        answer = client.get("/oauth/install", query_string={"account": _random_account()})
        statuses.append(answer.status_code)
    assert statuses == [302] * 20 + [429] * 180
    assert (len(network.sent), kit.states.count(), len(kit.jwks)) == (fetched, stored, cached)
    assert stored == 20 and cached == 20 and network.foreign() == []
    refused = client.get("/oauth/install", query_string={"account": "acme"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert "Restart the install" not in refused.get_data(as_text=True)
    assert _from(net_app, "198.51.100.4").get("/oauth/install?account=acme").status_code == 302


def test_item8_the_install_form_itself_is_not_counted(net_app: Flask) -> None:
    """Issue 9 item 8: only starts count; the page asking for the subdomain costs nothing."""
    client = _from(net_app, "203.0.113.10")
    assert {client.get("/oauth/install").status_code for _ in range(30)} == {200}
    assert client.get("/oauth/install?account=acme").status_code == 302


def test_item8_discovery_cache_is_bounded(
    sandbox: SandboxControl, database_url: str, tmp_path: Path
) -> None:
    """Issue 9 item 8: more issuers than MAX_ISSUERS never grow the discovery cache past it."""
    fetched: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(404)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    env = kit_env("https://gorgias.example", database_url)
    env["GORGIAS_URL_TEMPLATE"] = "https://{account}.gorgias.example"
    kit = Kit(KitSettings.from_mapping(env), http=http)
    try:
        for n in range(MAX_ISSUERS + 50):
            kit.jwks.metadata(f"https://shop-{n}.gorgias.example")
        assert len(kit.jwks) == MAX_ISSUERS
        assert len(fetched) == MAX_ISSUERS + 50
        kit.jwks.metadata(f"https://shop-{MAX_ISSUERS + 49}.gorgias.example")  # still cached
        assert len(fetched) == MAX_ISSUERS + 50
    finally:
        kit.close()


def test_item8_per_account_locks_go_when_unused(app: Flask) -> None:
    """Issue 9 item 8: locking 300 accounts leaves no lock behind once none is held."""
    kit = kit_of(app)
    for n in range(300):
        with kit.lock.hold(Account(f"shop-{n}")):
            assert len(kit.lock) >= 1
    gc.collect()
    assert len(kit.lock) == 0


def _pending(kit: Kit, state: str) -> None:
    now = kit.clock.now()
    kit.states.issue(
        state,
        PendingInstall(
            account=Account("acme"),
            issuer="https://acme.gorgias.example",
            nonce="nonce",
            code_verifier=Secret("v" * 64),
            browser_hash="0" * 64,
            created_at=now,
            expires_at=now + timedelta(seconds=600),
        ),
    )


def test_item8_refresh_due_purges_expired_install_states(
    app_config: dict[str, str], app: Flask
) -> None:
    """Issue 9 item 8: `refresh-due` deletes abandoned install states and says how many."""
    kit = kit_of(app)
    past = FakeClock(FakeClock().now() - timedelta(hours=2))  # states left two hours ago
    earlier = Kit(KitSettings.from_mapping(app_config), clock=past)
    try:
        for n, started in enumerate((kit, earlier, earlier)):  # one valid, then two expired
            _pending(started, f"state-{n}")
    finally:
        earlier.close()
    assert kit.states.count() == 3
    result = CliRunner().invoke(main, ["refresh-due", "--json"], env=app_config)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["purged"] == {
        "install_states": 2,
        "sessions": 0,
        "throttle_counters": 0,
    }
    assert kit.states.count() == 1
    text = CliRunner().invoke(main, ["refresh-due"], env=app_config)
    assert text.exit_code == 0 and "purged 0 install states, 0 sessions" in text.output
