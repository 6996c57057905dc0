"""SEC-11: the session is regenerated after an install; a planted cookie grants nothing.

The cookie carries a random session id; what it grants is the server-side record (issue 9
item 3), read here with :func:`granted`.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .support import decode_session
from .support import granted


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Sessions live in the browser; one database tier is enough."""
    return sqlite_url


def _session(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_planted_session_is_replaced_and_grants_nothing(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-11: plant a cookie, complete the callback: a new value; the old one opens nothing."""
    attacker = app.test_client()
    attacker_actions = InstallDriver(attacker)
    assert attacker_actions.install("globex").status_code == 303  # a real, valid session
    attacker_actions.close()
    planted = _session(attacker)
    client.set_cookie("session", planted)
    assert installer.install("acme").status_code == 303
    fresh = _session(client)
    assert fresh != planted
    assert decode_session(fresh)["sid"] != decode_session(planted)["sid"]
    assert granted(app, client, fresh) == ("globex", "acme")  # the planted list carried over
    assert granted(app, client, planted) == ()  # the planted session itself ended
    replay = app.test_client()
    replay.set_cookie("session", planted)
    assert replay.get("/accounts/acme").status_code == 403
    token = decode_session(planted)["csrf"]
    response = replay.post("/accounts/acme/disconnect", data={"csrf_token": token})
    assert response.status_code == 403
    assert sandbox.count("acme", "oauth.revoke") == 0


def test_csrf_token_of_the_previous_session_dies_at_install(
    installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-11: the CSRF token is renewed at every install; a token learnt before is worthless."""
    installer.install("globex")
    before = decode_session(_session(client))["csrf"]
    installer.install("acme")
    after = decode_session(_session(client))["csrf"]
    assert before != after
    response = client.post("/accounts/acme/disconnect", data={"csrf_token": before})
    assert response.status_code == 403
    page = client.get("/accounts/acme").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None and match.group(1) == after


def test_every_install_issues_a_new_session_value(
    installer: InstallDriver, client: FlaskClient, app: Flask
) -> None:
    """SEC-11: installing (or reconnecting) again rotates the session once more."""
    installer.install("acme")
    first = _session(client)
    installer.install("acme")
    second = _session(client)
    assert first != second
    assert granted(app, client, second) == ("acme",)
    assert granted(app, client, first) == ()
