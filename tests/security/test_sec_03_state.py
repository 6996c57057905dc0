"""SEC-03: ``state`` is single-use, bound to the browser, short-lived and unguessable."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InvalidState
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .support import consent
from .support import state_of


def token_requests(sandbox: SandboxControl, account: str = "acme") -> int:
    return sandbox.count(account, "oauth.token")


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty",
        "unknown",
        "replayed",
        "foreign_browser",
        "cookie_deleted",
        "cookie_of_another_install",
        "repeated",
    ],
)
def test_bad_state_offers_a_restart_and_requests_no_token(
    case: str,
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    sandbox: SandboxControl,
) -> None:
    """SEC-03: every bad state gives a restart page and the token endpoint is not called."""
    callback = installer.consent(installer.start("acme"))
    query: dict[str, str] | str = dict(callback.query)
    expected_tokens = 0
    if case == "missing":
        query.pop("state")
    elif case == "empty":
        query["state"] = ""
    elif case == "unknown":
        query["state"] = "x" * 43
    elif case == "replayed":
        assert installer.finish(callback).status_code == 303
        expected_tokens = 1
    elif case == "foreign_browser":
        client = app.test_client()  # another browser: no install cookie
    elif case == "cookie_deleted":
        client.delete_cookie("gorgias_install")
    elif case == "cookie_of_another_install":  # this browser's cookie, another browser's state
        other = app.test_client()
        query = consent(other.get("/oauth/install?account=acme").headers["Location"])
    elif case == "repeated":  # RFC 6749 §3.1: a parameter must not appear twice
        query = f"{callback.path_and_query.split('?')[1]}&state=x"
    response = client.get("/oauth/callback", query_string=query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "expired or was already used" in html and "Restart the install" in html
    assert token_requests(sandbox) == expected_tokens


def test_state_is_deleted_on_first_use_even_when_that_use_fails(
    installer: InstallDriver, app: Flask, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """SEC-03: a callback that fails the browser check still burns the state for good."""
    callback = installer.consent(installer.start("acme"))
    stranger = app.test_client()
    assert stranger.get(callback.path_and_query).status_code == 400
    assert client.get(callback.path_and_query).status_code == 400  # the right browser, too late
    assert token_requests(sandbox) == 0


def test_state_older_than_its_ttl_is_refused(sandbox: SandboxControl, sqlite_url: str) -> None:
    """SEC-03: past the 10-minute TTL the state is refused before any token request."""
    clock = FakeClock()
    settings = KitSettings.from_mapping(kit_env(sandbox.base_url, sqlite_url))
    assert settings.state_ttl == 600
    kit = Kit(settings, clock=clock)
    try:
        query = consent(kit.begin_install("acme", browser_id="browser-1"))
        clock.advance(601)
        with pytest.raises(InvalidState):
            kit.complete_install(query, browser_id="browser-1")
        assert token_requests(sandbox) == 0
    finally:
        kit.close()


def test_state_just_inside_its_ttl_still_works(sandbox: SandboxControl, sqlite_url: str) -> None:
    """SEC-03: the TTL check is not off by a lot: 9 minutes later the install completes."""
    clock = FakeClock()
    kit = Kit(KitSettings.from_mapping(kit_env(sandbox.base_url, sqlite_url)), clock=clock)
    try:
        query = consent(kit.begin_install("acme", browser_id="browser-1"))
        clock.advance(540)
        assert kit.complete_install(query, browser_id="browser-1").installation.account == "acme"
    finally:
        kit.close()


def test_states_are_long_random_and_unique(sqlite_url: str, tmp_path: Path) -> None:
    """SEC-03: states carry 256 bits (43 urlsafe characters) and never repeat."""
    settings = KitSettings.from_mapping(
        kit_env("http://127.0.0.1:9", sqlite_url, GORGIAS_ID_TOKEN_JWKS="off")
    )
    kit = Kit(settings)
    try:
        states = [state_of(kit.begin_install("acme", browser_id="b")) for _ in range(200)]
    finally:
        kit.close()
    assert len(set(states)) == 200
    assert all(len(s) >= 43 for s in states)


def test_install_cookie_lives_as_long_as_the_state(client: FlaskClient) -> None:
    """SEC-03: the browser binding expires with the state (Max-Age=600), HttpOnly and Lax."""
    response = client.get("/oauth/install?account=acme")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("gorgias_install=")
    assert "Max-Age=600" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
