"""SEC-13: no secret in a log line, an error page, an exception, a repr or a JSON document.

The end-to-end grep (install, refresh, failing refresh, disconnect at DEBUG, then logs, pages and
database bytes) is ``test_secret_hygiene.py``; unit checks of the scrubber are in
tests/unit/test_crypto_and_redact.py.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC
from datetime import datetime

import pytest
from flask import Flask
from flask import jsonify
from flask.testing import FlaskClient

from gorgias_appkit import Secret
from gorgias_appkit.core.logformat import KeyValueFormatter
from gorgias_appkit.core.records import TokenSet
from gorgias_appkit.core.secret import SecretScrubber
from gorgias_appkit.core.secret import json_default
from gorgias_appkit.errors import InvalidGrant
from gorgias_appkit.oauth.protocol import parse_error_body
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ...conftest import CLIENT_SECRET
from ..support import kit_of
from ..support import state_of

SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "params",
    [
        {"error": "server_error", "error_description": SCRIPT},
        {"error": "access_denied", "error_description": SCRIPT},
        {"error": SCRIPT},
        {"error": "invalid_request", "error_description": '"><img src=x onerror=alert(1)>'},
        {"error": "x", "error_description": "line one\r\nSet-Cookie: pwned=1"},
    ],
)
def test_attacker_text_on_the_error_page_is_escaped(
    params: dict[str, str], installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-13: ``error``/``error_description`` are attacker-controlled and shown escaped."""
    state = state_of(installer.start("acme"))
    response = client.get("/oauth/callback", query_string={"state": state, **params})
    assert response.status_code == (403 if params["error"] == "access_denied" else 400)
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "<img" not in html
    assert "pwned" not in response.headers.get("Set-Cookie", "")


def test_failure_pages_never_echo_the_code_or_state(
    installer: InstallDriver, client: FlaskClient, sandbox: SandboxControl
) -> None:
    """SEC-13: a failed exchange's page shows an error code, not the code, state or secret."""
    callback = installer.consent(installer.start("acme"))
    sandbox.add_fault(
        path="/oauth/token",
        mode="status",
        status=400,
        body={"error": "invalid_grant", "error_description": "bad code"},
    )
    response = installer.finish(callback)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "invalid_grant" in html
    for value in (callback.query["code"], callback.query["state"], CLIENT_SECRET):
        assert value not in html


def test_reprs_and_errors_mask_every_secret(installer: InstallDriver, app: Flask) -> None:
    """SEC-13: Kit, settings, installation, token set and OAuth client reprs show no secret."""
    installer.install("acme")
    kit = kit_of(app)
    installation = kit.installation("acme")
    assert installation is not None and installation.tokens is not None
    secrets_ = [installation.tokens.access_token.reveal(), CLIENT_SECRET]
    assert installation.tokens.refresh_token is not None
    secrets_.append(installation.tokens.refresh_token.reveal())
    shown = " ".join(
        repr(x) + str(x)
        for x in (
            kit,
            kit.settings,
            installation,
            installation.tokens,
            kit.oauth,
            kit.store,
            kit.store.keyring,
        )
    )
    for value in secrets_:
        assert value not in shown


def test_oauth_error_bodies_are_reduced_to_a_code() -> None:
    """SEC-13: an error body that echoes a token does not carry it into the exception text."""
    error = parse_error_body(
        {"error": "invalid_grant", "error_description": "refresh_token=rt-123\r\nrejected"}, 400
    )
    assert isinstance(error, InvalidGrant)
    assert "rt-123" not in str(error) and "\n" not in str(error)
    odd = parse_error_body({"error": "invalid_grant\r\nX: y", "error_description": SCRIPT}, 400)
    assert odd.error == "invalid_grantXy" and not isinstance(odd, InvalidGrant)


def test_json_forms_are_masked(app: Flask) -> None:
    """SEC-13: ``jsonify`` (Flask's provider) and ``json.dumps(default=json_default)`` mask."""
    tokens = TokenSet(
        access_token=Secret("at-json-123"),
        refresh_token=Secret("rt-json-456"),
        expires_at=datetime.now(UTC),
        scopes=(),
    )
    with app.test_request_context():
        body = jsonify(token=tokens.access_token, nested=[{"rt": tokens.refresh_token}])
        assert "at-json-123" not in body.get_data(as_text=True)
        assert json.loads(body.get_data()) == {"token": "***", "nested": [{"rt": "***"}]}
    assert json.dumps({"t": Secret("at-json-123")}, default=json_default) == '{"t": "***"}'
    with pytest.raises(TypeError):
        json.dumps({"t": object()}, default=json_default)


def test_formatter_and_scrubber_keep_tokens_and_line_breaks_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SEC-13: the kit's log format scrubs token-shaped text and keeps each record on one line."""
    scrubber = SecretScrubber()
    scrubber.register(CLIENT_SECRET)
    record = logging.LogRecord(
        "gorgias_appkit.test",
        logging.INFO,
        __file__,
        1,
        "POST body code=c0de-123&client_secret=%s account=%s",
        (CLIENT_SECRET, "acme\r\nfake"),
        None,
    )
    scrubber.filter(record)
    line = KeyValueFormatter().format(record)
    assert "c0de-123" not in line and CLIENT_SECRET not in line
    assert "\n" not in line and "\r" not in line
