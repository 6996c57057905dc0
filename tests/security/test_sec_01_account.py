"""SEC-01: the unsigned ``account`` is validated before any URL is built (SSRF, exfiltration).

Unit-level checks of ``parse_account`` and ``UrlTemplate`` live in tests/unit/test_accounts.py;
this module tries the same hostile values through the app and against a tampered database row.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit import InvalidAccount
from gorgias_appkit.core.records import TokenSet
from gorgias_appkit.core.secret import Secret
from gorgias_sandbox import SandboxControl

from ..hostile_inputs import HOSTILE_ACCOUNTS
from .support import Network
from .support import kit_of
from .support import sandbox_calls

# The checklist's list (shared with the unit tests), then more of our own.
HOSTILE = [
    *HOSTILE_ACCOUNTS,
    "acme\t",
    "acme/../globex",
    "acme#frag",
    "http://evil.com",
    "acme.",
    ".acme",
    "[::1]",
    "localhost:8000",
    "acme@",
    "%61cme",
    "acme\u200b",
    "ACME\u0130",
    "\uff41cme",
    "acme;evil",
    "acme,globex",
    "*",
    "..",
]


@pytest.mark.parametrize("account", HOSTILE)
def test_hostile_account_gets_400_and_no_outbound_request(
    account: str, shared_app: Flask, quiet_network: Network, sandbox: SandboxControl
) -> None:
    """SEC-01: a hostile account gets a neutral 400 page, no redirect and no request anywhere."""
    response = shared_app.test_client().get("/oauth/install", query_string={"account": account})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "not a Gorgias subdomain" in response.get_data(as_text=True)
    assert quiet_network.sent == []
    assert sandbox_calls(sandbox) == 0


def test_upper_case_is_folded_not_refused(shared_app: Flask, sandbox: SandboxControl) -> None:
    """SEC-01: ``ACME`` is folded to ``acme`` (DNS is case-insensitive) and installs there."""
    response = shared_app.test_client().get("/oauth/install", query_string={"account": "ACME"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{sandbox.base_url}/acme/oauth/authorize?")


def test_hostile_value_is_logged_escaped(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-01: the refused value reaches the log escaped, so it cannot forge a second line."""
    with caplog.at_level(logging.INFO, logger="gorgias_appkit"):
        client.get("/oauth/install", query_string={"account": "acme\r\nX-Injected: 1"})
    lines = [r.getMessage() for r in caplog.records if "not a Gorgias subdomain" in r.getMessage()]
    assert lines and all("\r" not in m and "\n" not in m for m in lines)
    assert "\\r\\n" in lines[0]


@pytest.mark.parametrize("account", ["acme.evil.com", "evil.com/x?", "a@evil.com", "127.0.0.1"])
def test_tampered_database_row_never_forms_a_url(
    account: str, net_app: Flask, network: Network, sandbox: SandboxControl
) -> None:
    """SEC-01: a row whose account was tampered with is refused before any request is built."""
    kit = kit_of(net_app)
    expired = TokenSet(
        access_token=Secret("at-in-a-tampered-row"),
        refresh_token=Secret("rt-in-a-tampered-row"),
        expires_at=kit.clock.now() - timedelta(minutes=1),
        scopes=("account:read",),
    )
    kit.store.save_install(account, tokens=expired, user_id="1", user_email=None)
    with pytest.raises(InvalidAccount):
        kit.access_token_for(account)  # due: would refresh at the account's token endpoint
    with pytest.raises(InvalidAccount):
        kit.client_for(account).account_info()
    with pytest.raises(InvalidAccount):
        kit.disconnect(account)  # would revoke at the account's revocation endpoint
    assert network.sent == []
    assert sandbox_calls(sandbox) == 0
