"""SEC-05: mix-up defence with one authorization server per account (RFC 9207, RFC 9700 §4.4)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl


def token_calls(sandbox: SandboxControl) -> dict[str, int]:
    return {a: sandbox.count(a, "oauth.token") for a in ("acme", "globex", "initech")}


ISS = {
    "foreign-host": "http://127.0.0.1:4000/evil",
    "other-account": "{acme}/../globex",
    "trailing-slash": "{acme}/",
    "upper-case": "{upper}",
    "https-scheme": "{https}",
    "localhost-alias": "{localhost}",
    "encoded-slash": "{acme}%2F",
    "empty-query": "{acme}?",
    "leading-space": " {acme}",
    "bare-account": "acme",
}


@pytest.mark.parametrize("variant", ISS)
def test_callback_iss_other_than_the_stored_issuer_is_refused_before_any_token_call(
    variant: str, installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-05: iss is compared by simple string equality; any other value stops the install."""
    acme = f"{sandbox.base_url}/acme"
    iss = ISS[variant].format(
        acme=acme,
        upper=acme.upper(),
        https=acme.replace("http:", "https:"),
        localhost=acme.replace("127.0.0.1", "localhost"),
    )
    callback = installer.consent(installer.start("acme"))
    response = installer.app.get("/oauth/callback", query_string={**callback.query, "iss": iss})
    assert response.status_code == 400
    assert "issuer_mismatch" in response.get_data(as_text=True)
    assert token_calls(sandbox) == {"acme": 0, "globex": 0, "initech": 0}


def test_extra_account_parameter_cannot_redirect_the_exchange(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-05: ``&account=evil`` (or any other extra parameter) never picks the token endpoint."""
    callback = installer.consent(installer.start("acme"))
    query = {
        **callback.query,
        "account": "globex",
        "token_endpoint": "https://evil.example/t",
        "issuer": f"{sandbox.base_url}/globex",
    }
    assert installer.app.get("/oauth/callback", query_string=query).status_code == 303
    assert token_calls(sandbox) == {"acme": 1, "globex": 0, "initech": 0}


def test_error_answer_with_a_foreign_iss_is_not_trusted(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-05: an ``error`` callback whose iss is another server's is reported as a mix-up."""
    callback = installer.consent(installer.start("acme"), decision="deny")
    query = {**callback.query, "iss": f"{sandbox.base_url}/globex"}
    response = installer.app.get("/oauth/callback", query_string=query)
    assert response.status_code == 400
    assert "issuer_mismatch" in response.get_data(as_text=True)


def test_missing_iss_is_refused_when_the_metadata_promises_it(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-05: discovery says iss is sent (RFC 9207 §3); a callback without it is refused."""
    sandbox.configure(publish_jwks=True, send_iss=True)
    callback = installer.consent(installer.start("acme"))
    query = {k: v for k, v in callback.query.items() if k != "iss"}
    response = installer.app.get("/oauth/callback", query_string=query)
    assert response.status_code == 400
    assert "issuer_missing" in response.get_data(as_text=True)
    assert token_calls(sandbox)["acme"] == 0


def test_matching_iss_is_accepted(installer: InstallDriver, sandbox: SandboxControl) -> None:
    """SEC-05: the honest iss passes (with and without published metadata)."""
    sandbox.configure(send_iss=True)
    callback = installer.consent(installer.start("acme"))
    assert callback.query["iss"] == f"{sandbox.base_url}/acme"
    assert installer.finish(callback).status_code == 303
    sandbox.configure(publish_jwks=True)
    assert installer.install("globex").status_code == 303


def test_missing_iss_is_fine_when_nothing_promised_it(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-05: Gorgias sends no iss today (V-02); without a promise in metadata that is accepted."""
    callback = installer.consent(installer.start("acme"))
    assert "iss" not in callback.query
    assert installer.finish(callback).status_code == 303


def test_code_from_another_account_is_only_ever_sent_to_the_started_account(
    installer: InstallDriver, client: FlaskClient, app: Flask, sandbox: SandboxControl
) -> None:
    """SEC-05: a globex code pasted into an acme callback goes to acme's token endpoint only."""
    acme = installer.consent(installer.start("acme")).query
    globex = installer.consent(installer.start("globex")).query
    response = client.get("/oauth/callback", query_string={**acme, "code": globex["code"]})
    assert response.status_code == 400
    assert "invalid_grant" in response.get_data(as_text=True)
    assert token_calls(sandbox) == {"acme": 1, "globex": 0, "initech": 0}
    kit = app.extensions["gorgias_appkit"]
    assert kit.installation("acme") is None and kit.installation("globex") is None
    # The globex install itself is unharmed: its code was never redeemed anywhere.
    assert client.get("/oauth/callback", query_string=globex).status_code == 303
    assert token_calls(sandbox) == {"acme": 1, "globex": 1, "initech": 0}
