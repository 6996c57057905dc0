"""SEC-18: tokens are bound only to the account the flow started for, and rows never mix."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from .support import kit_of


def test_start_for_acme_and_finish_with_a_globex_code_is_refused(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-18: the globex code goes to acme's token endpoint only, which refuses it."""
    acme = installer.consent(installer.start("acme")).query
    globex = installer.consent(installer.start("globex")).query
    response = client.get("/oauth/callback", query_string={**acme, "code": globex["code"]})
    assert response.status_code == 400
    assert sandbox.count("globex", "oauth.token") == 0
    assert kit_of(app).installation("acme") is None and kit_of(app).installation("globex") is None


def test_api_account_naming_another_account_is_refused(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-18: ``GET /api/account`` must name the started account, or nothing is stored."""
    callback = installer.consent(installer.start("acme"))
    sandbox.add_fault(
        path="/api/account", mode="status", status=200, body={"domain": "globex", "name": "Globex"}
    )
    response = installer.finish(callback)
    assert response.status_code == 400
    assert "account_mismatch" in response.get_data(as_text=True)
    assert kit_of(app).installation("acme") is None and kit_of(app).installation("globex") is None


def test_id_token_issuer_of_another_account_is_refused(
    installer: InstallDriver, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-18: an id_token whose iss is not acme's is refused before the tokens are used."""
    sandbox.configure(id_token_tamper="bad_iss")
    assert installer.install("acme").status_code == 400
    assert sandbox.count("acme", "api.GET /api/account") == 0
    assert kit_of(app).installation("acme") is None


def test_two_concurrent_installs_in_one_browser_keep_their_own_tokens(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-18: acme and globex started together; each row decrypts to its own account's tokens."""
    acme = installer.consent(installer.start("acme"))
    globex = installer.consent(installer.start("globex"))
    assert installer.finish(globex).status_code == 303
    assert installer.finish(acme).status_code == 303
    kit = kit_of(app)
    for account in ("acme", "globex"):
        stored = kit.installation(account)
        assert stored is not None and stored.tokens is not None
        assert stored.tokens.refresh_token is not None
        grant = sandbox.grants(account)[0]
        assert stored.tokens.refresh_token.reveal() == grant["current_refresh_token"]
        assert stored.tokens.access_token.reveal() == grant["access_tokens"][0]["token"]
        assert kit.client_for(account).account_info()["domain"] == account
    assert client.get("/accounts/acme").status_code == 200
    assert client.get("/accounts/globex").status_code == 200


def test_reinstall_replaces_only_that_accounts_row(installer: InstallDriver, app: Flask) -> None:
    """SEC-18: reinstalling acme rewrites acme's row atomically and leaves globex untouched."""
    installer.install("acme")
    installer.install("globex")
    kit = kit_of(app)
    globex_before = kit.installation("globex")
    acme_before = kit.installation("acme")
    assert installer.install("acme").status_code == 303
    acme_after, globex_after = kit.installation("acme"), kit.installation("globex")
    assert globex_after == globex_before
    assert acme_after is not None and acme_before is not None
    assert acme_after.version > acme_before.version
    assert acme_after.tokens != acme_before.tokens
