"""Issue 12, goal 1: the in-process token cache, its bounded staleness and when it is dropped.

Two kits on one SQLite file and one fake clock stand for two app processes; the scripted Gorgias
answers 401 to a token it no longer accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from gorgias_appkit import Account
from gorgias_appkit import InstallationUnavailable
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit import Secret
from gorgias_appkit import TokenSet
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.tokens.cache import TokenCache

from .conftest import ACME
from .conftest import FakeGorgias
from .conftest import install
from .conftest import token_body

TOKEN = ("POST", "/oauth/token")
ACCOUNT = ("GET", "/api/account")
MAX_AGE = 10.0


@pytest.fixture
def other(
    settings_values: dict[str, str], gorgias: FakeGorgias, clock: FakeClock, kit: Kit
) -> Iterator[Kit]:
    """A second app process: its own kit (and cache) on the same database and keys."""
    http = httpx.Client(transport=httpx.MockTransport(gorgias.handle))
    sibling = Kit(KitSettings.from_mapping(settings_values), http=http, clock=clock)
    yield sibling
    sibling.close()


def accepts(
    *tokens: str, seen: list[str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """``GET /api/account`` answering 200 for ``tokens`` and 401 for any other bearer."""

    def answer(request: httpx.Request) -> httpx.Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if seen is not None:
            seen.append(bearer)  # as sent: httpx reuses the request object for the retry
        if bearer in tokens:
            return httpx.Response(200, json={"domain": "acme"})
        return httpx.Response(401, json={"error": "invalid token"})

    return answer


def test_another_processs_refresh_is_seen_within_the_cache_age(
    kit: Kit, other: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """A token read once is reused for at most GORGIAS_TOKEN_CACHE_SECONDS, then re-read."""
    install(kit, clock)
    assert kit.access_token_for("acme") == "at-0"
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    assert other.refresh_now("acme").tokens.access_token == Secret("at-1")  # type: ignore[union-attr]
    assert kit.access_token_for("acme") == "at-0"  # this process's copy, still young
    clock.advance(MAX_AGE)
    assert kit.access_token_for("acme") == "at-1"


def test_a_401_on_a_cached_token_costs_one_retried_call_and_no_refresh(
    kit: Kit, other: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """The 401 path drops the copy, re-reads the row under the lock, retries once with it."""
    install(kit, clock)
    client = kit.client_for("acme")
    gorgias.on(*ACCOUNT, accepts("at-0", "at-1"))
    client.get("/account")  # caches at-0
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    other.refresh_now("acme")
    sent: list[str] = []
    gorgias.on(*ACCOUNT, accepts("at-1", seen=sent))  # Gorgias stopped accepting the old token
    assert client.get("/account") == {"domain": "acme"}
    assert sent == ["at-0", "at-1"]
    assert len(gorgias.calls(*TOKEN)) == 1  # the other process's refresh only
    assert kit.access_token_for("acme") == "at-1"


def test_a_disconnect_in_this_process_drops_the_copy_at_once(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """After Kit.disconnect no cached token is handed out, however young the copy."""
    install(kit, clock)
    assert kit.access_token_for("acme") == "at-0"
    kit.disconnect("acme")
    with pytest.raises(InstallationUnavailable):
        kit.access_token_for("acme")


def test_a_disconnect_in_another_process_costs_at_most_one_refused_call(
    kit: Kit, other: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """The copy outlives a disconnect elsewhere by one call: its 401 finds the row uninstalled."""
    install(kit, clock)
    client = kit.client_for("acme")
    gorgias.on(*ACCOUNT, accepts("at-0"))
    client.get("/account")
    other.disconnect("acme")
    gorgias.on(*ACCOUNT, accepts())  # the revoked token is refused
    before = len(gorgias.calls(*ACCOUNT))
    with pytest.raises(InstallationUnavailable):
        client.get("/account")
    assert len(gorgias.calls(*ACCOUNT)) - before == 1
    with pytest.raises(InstallationUnavailable):
        kit.access_token_for("acme")


def test_a_refresh_in_this_process_replaces_the_copy_at_once(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """The lock's release drops the copy: the refreshed token is served on the next call."""
    install(kit, clock)
    assert kit.access_token_for("acme") == "at-0"
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    kit.refresh_now("acme")
    assert kit.access_token_for("acme") == "at-1"


def test_a_copy_is_never_served_inside_the_refresh_leeway(
    kit: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """A token cached 6 minutes before expiry is refreshed once it enters the 5-minute leeway."""
    install(kit, clock, hours=0.1)
    assert kit.access_token_for("acme") == "at-0"
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    clock.advance(61)
    assert kit.access_token_for("acme") == "at-1"
    assert len(gorgias.calls(*TOKEN)) == 1


def test_with_the_cache_off_every_call_reads_the_row(
    settings_values: dict[str, str], other: Kit, clock: FakeClock, gorgias: FakeGorgias
) -> None:
    """GORGIAS_TOKEN_CACHE_SECONDS=0: another process's refresh is seen on the very next call."""
    http = httpx.Client(transport=httpx.MockTransport(gorgias.handle))
    settings = KitSettings.from_mapping({**settings_values, "GORGIAS_TOKEN_CACHE_SECONDS": "0"})
    uncached = Kit(settings, http=http, clock=clock)
    try:
        install(uncached, clock)
        assert uncached.access_token_for("acme") == "at-0"
        gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
        other.refresh_now("acme")
        assert uncached.access_token_for("acme") == "at-1"
        assert len(uncached.token_cache) == 0
    finally:
        uncached.close()


def test_a_read_that_raced_with_a_change_is_not_kept(clock: FakeClock) -> None:
    """A row read before a change and stored after the change forgot the account is refused."""
    cache = TokenCache(clock, max_age=MAX_AGE)
    tokens = TokenSet(
        access_token=Secret("at-0"),
        refresh_token=None,
        expires_at=clock.now() + timedelta(hours=1),
        scopes=(),
    )
    ticket = cache.ticket()  # the read starts
    cache.forget(ACME)  # a refresh commits meanwhile
    cache.put(ACME, tokens, ticket=ticket, leeway=300)
    assert cache.get(ACME) is None
    cache.put(ACME, tokens, ticket=cache.ticket(), leeway=300)
    assert cache.get(ACME) == Secret("at-0")


def test_the_cache_is_bounded_and_drops_its_oldest_entry(clock: FakeClock) -> None:
    """Past max_entries the oldest account goes first; the newest are kept."""
    cache = TokenCache(clock, max_age=MAX_AGE, max_entries=2)
    expires = clock.now() + timedelta(hours=1)
    for name in ("a", "b", "c"):
        tokens = TokenSet(
            access_token=Secret(name), refresh_token=None, expires_at=expires, scopes=()
        )
        cache.put(Account(name), tokens, ticket=cache.ticket(), leeway=300)
    assert len(cache) == 2
    assert cache.get(Account("a")) is None
    assert cache.get(Account("c")) == Secret("c")


def test_the_cache_age_setting_is_checked() -> None:
    """GORGIAS_TOKEN_CACHE_SECONDS is a number of seconds between 0 and 300."""
    from gorgias_appkit import ConfigError

    base = {
        "GORGIAS_CLIENT_ID": "c",
        "GORGIAS_CLIENT_SECRET": "s",
        "GORGIAS_APP_URL": "https://app.example.com",
        "GORGIAS_DATABASE_URL": "sqlite:///x.sqlite3",
        "GORGIAS_ENCRYPTION_KEYS": "A" * 43 + "=",
    }
    assert KitSettings.from_mapping(base).token_cache_seconds == MAX_AGE
    with pytest.raises(ConfigError, match="GORGIAS_TOKEN_CACHE_SECONDS must be at most 300"):
        KitSettings.from_mapping({**base, "GORGIAS_TOKEN_CACHE_SECONDS": "301"})
