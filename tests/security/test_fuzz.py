"""Property-based tests (Hypothesis) of every parser that sees hostile input.

The properties: no input produces a 500 (or an exception other than the parser's typed error),
a request to a host other than the account's, or a stored token. Each property runs at most 150
examples, so the module stays well under a minute.
"""

from __future__ import annotations

import string
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gorgias_appkit import InvalidAccount
from gorgias_appkit import Secret
from gorgias_appkit import parse_account
from gorgias_appkit.api.errors import error_for
from gorgias_appkit.api.errors import parse_error_body as parse_api_error
from gorgias_appkit.errors import ApiError
from gorgias_appkit.errors import DecryptionError
from gorgias_appkit.errors import IdTokenError
from gorgias_appkit.errors import InvalidTokenResponse
from gorgias_appkit.errors import OAuthError
from gorgias_appkit.oauth.idtoken import validate_id_token
from gorgias_appkit.oauth.protocol import parse_error_body as parse_oauth_error
from gorgias_appkit.oauth.protocol import parse_token_response
from gorgias_appkit.oauth.protocol import unverified_claims
from gorgias_appkit.store.crypto import Keyring
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.web.security import safe_return_path
from gorgias_sandbox import SandboxServer

from .idp import CLIENT_ID
from .idp import Issuers
from .idp import b64
from .support import Network
from .support import consent
from .support import kit_of
from .support import start

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
wire_values = st.recursive(  # what can travel as JSON (no NaN or infinity)
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
token_like = st.text(
    string.ascii_letters + string.digits + "-._~+/= \r\n\x00", min_size=0, max_size=60
)
token_keys = st.sampled_from(
    ["access_token", "token_type", "refresh_token", "expires_in", "scope", "id_token", "error"]
)
token_bodies = st.one_of(
    json_values,
    st.dictionaries(
        token_keys,
        st.one_of(json_scalars, token_like, st.sampled_from(["Bearer", "bearer", "mac", ""])),
        max_size=7,
    ),
)
hostname_ish = st.from_regex(r"[A-Za-z0-9.\-@:/%?#\\ \[\]_]{0,70}", fullmatch=True)
accounts = st.one_of(
    text,
    hostname_ish,
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["acme", "ACME", "globex", "acme.evil.com", "a@evil.com", "\u0430cme"]),
)
callback_keys = st.sampled_from(
    [
        "state",
        "code",
        "iss",
        "error",
        "error_description",
        "error_uri",
        "account",
        "next",
        "token_endpoint",
    ]
)


def _installed(app: Flask) -> list[str]:
    return [i.account for i in kit_of(app).installations() if i.tokens is not None]


@FAST
@given(account=accounts)
def test_account_parameter(
    account: str, shared_app: Flask, shared_network: Network, sandbox_server: SandboxServer
) -> None:
    """SEC-01 fuzz: any account value gives 302/400/403, and only its own URL is ever called."""
    shared_network.sent.clear()
    response = shared_app.test_client().get("/oauth/install", query_string={"account": account})
    assert response.status_code in (302, 400, 403), response.status_code
    try:
        name = parse_account(account)
    except InvalidAccount:
        assert response.status_code == 400 and shared_network.sent == []
        return
    own = f"{sandbox_server.url}/{name}/"
    assert response.headers["Location"].startswith(own + "oauth/authorize?")
    assert all(str(r.url).startswith(own) for r in shared_network.sent)
    assert shared_network.foreign() == []


@FAST
@given(
    pairs=st.lists(
        st.tuples(st.one_of(callback_keys, text), st.one_of(text, token_like)), max_size=8
    ),
    real_state=st.booleans(),
)
def test_callback_query_string(
    pairs: list[tuple[str, str]],
    real_state: bool,
    shared_app: Flask,
    shared_network: Network,
    sandbox_server: SandboxServer,
) -> None:
    """SEC-03/05 fuzz: any callback query: no 500, no token stored, only acme's endpoints called."""
    shared_network.sent.clear()
    client = shared_app.test_client()
    if real_state:
        state = start(client, "acme").split("state=")[1].split("&")[0]
        pairs = [("state", state), *[(k, v) for k, v in pairs if k != "state"]]
    response = client.get("/oauth/callback?" + urlencode(pairs))
    assert response.status_code in (400, 403, 502, 503), response.status_code
    assert shared_network.foreign() == []
    assert all(str(r.url).startswith(f"{sandbox_server.url}/acme/") for r in shared_network.sent)
    assert _installed(shared_app) == []


@SLOW
@given(
    body=st.one_of(
        wire_values,
        st.dictionaries(
            token_keys,
            st.one_of(token_like, st.sampled_from(["Bearer", "mac", ""]), st.integers()),
            max_size=7,
        ),
    ),
    status=st.sampled_from([200, 200, 200, 201, 400, 401, 500]),
)
def test_token_endpoint_answers(
    body: Any,
    status: int,
    shared_app: Flask,
    shared_network: Network,
    sandbox_server: SandboxServer,
) -> None:
    """SEC-15 fuzz: whatever the token endpoint answers, no 500 and nothing is stored."""
    control = sandbox_server.control
    control.clear_faults()
    shared_network.sent.clear()
    client = shared_app.test_client()
    query = consent(start(client, "acme"))
    control.add_fault(path="/oauth/token", mode="status", status=status, body=body)
    response = client.get("/oauth/callback", query_string=query)
    control.clear_faults()
    assert response.status_code in (400, 403, 502), response.status_code
    assert shared_network.foreign() == []
    assert _installed(shared_app) == []


@FAST
@given(body=token_bodies)
def test_parse_token_response(body: Any) -> None:
    """SEC-15 fuzz: a token body is a sound TokenSet or an InvalidTokenResponse, nothing else."""
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        parsed = parse_token_response(body, sent_at=sent, default_lifetime=86400)
    except InvalidTokenResponse:
        return
    access = parsed.tokens.access_token.reveal()
    assert access and access.isascii() and access.isprintable() and " " not in access
    assert parsed.tokens.token_type == "Bearer"
    assert sent < parsed.tokens.expires_at <= sent + timedelta(days=30)


@FAST
@given(body=json_values, status=st.integers(min_value=100, max_value=599))
def test_parse_oauth_error_body(body: Any, status: int) -> None:
    """SEC-13 fuzz: an OAuth error body maps to an OAuthError with a tame code and description."""
    error = parse_oauth_error(body, status)
    assert isinstance(error, OAuthError)
    assert error.error.isascii() and len(error.error) <= 64
    assert error.description.isprintable() and len(error.description) <= 200


@FAST
@given(body=json_values, status=st.integers(min_value=400, max_value=599))
def test_parse_api_error_body(body: Any, status: int) -> None:
    """API fuzz: any error body gives a short message and a typed ApiError, never an exception."""
    message, _data = parse_api_error(body)
    assert isinstance(message, str) and len(message) <= 300
    assert isinstance(error_for(status, body, account="acme"), ApiError)


@FAST
@given(
    token=st.one_of(
        text,
        token_like,
        st.builds(
            lambda h, p, s: f"{h}.{p}.{s}",
            st.one_of(token_like, st.builds(lambda v: b64(v), st.binary(max_size=60))),
            st.one_of(token_like, st.builds(lambda v: b64(v), st.binary(max_size=60))),
            token_like,
        ),
    )
)
def test_id_token_and_claims_parsers(token: str) -> None:
    """SEC-07 fuzz: garbage id_tokens raise IdTokenError only; claim reading never raises."""
    assert isinstance(unverified_claims(token), dict)
    fallback = Issuers()
    try:
        validate_id_token(
            token,
            issuer="https://acme.gorgias.com",
            client_id=CLIENT_ID,
            nonce="n",
            now=datetime.now(UTC),
            leeway=120,
            jwks=fallback.cache,
        )
    except IdTokenError:
        pass
    finally:
        fallback.http.close()


KEYRING = Keyring([Secret(generate_key())])


@FAST
@given(
    value=st.one_of(
        text,
        token_like,
        st.builds(
            lambda k, b: f"v1.{k}.{b}", st.sampled_from([KEYRING.current_kid, "zz"]), token_like
        ),
    )
)
def test_keyring_decrypt(value: str) -> None:
    """SEC-14 fuzz: anything that is not our ciphertext is a DecryptionError, never a crash."""
    try:
        KEYRING.decrypt(value, context="installation:acme:access")
    except DecryptionError:
        return
    raise AssertionError("a forged ciphertext opened")


@FAST
@given(target=st.one_of(text, hostname_ish, st.sampled_from(["/", "/accounts/acme", "//x"])))
def test_return_paths(target: str, shared_app: Flask) -> None:
    """SEC-09 fuzz: a return path is either refused or a plain path of this app."""
    with shared_app.test_request_context():
        path = safe_return_path(target)
    if path is not None:
        assert path == target and path.startswith("/") and not path.startswith("//")
        assert "\\" not in path and ":" not in path and "%" not in path
