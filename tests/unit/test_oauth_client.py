"""OAuthClient retries over a scripted transport: what is resent, what never is, and the waits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gorgias_appkit import Account
from gorgias_appkit import Secret
from gorgias_appkit import UrlTemplate
from gorgias_appkit.errors import ExchangeOutcomeUnknown
from gorgias_appkit.errors import InvalidGrant
from gorgias_appkit.errors import RefreshOutcomeUnknown
from gorgias_appkit.errors import TokenEndpointError
from gorgias_appkit.oauth.client import OAuthClient
from gorgias_appkit.testing import FakeClock

from .conftest import CLIENT_ID
from .conftest import CLIENT_SECRET
from .conftest import FakeGorgias
from .conftest import token_body

ACME = Account("acme")
TOKEN = ("POST", "/oauth/token")


@pytest.fixture
def oauth(gorgias: FakeGorgias, clock: FakeClock) -> Iterator[OAuthClient]:
    http = httpx.Client(transport=httpx.MockTransport(gorgias.handle))
    yield OAuthClient(
        http=http,
        urls=UrlTemplate.parse("https://{account}.gorgias.com"),
        client_id=CLIENT_ID,
        client_secret=Secret(CLIENT_SECRET),
        clock=clock,
    )
    http.close()


def refresh(oauth: OAuthClient) -> str:
    return oauth.refresh(ACME, refresh_token=Secret("rt-0")).tokens.access_token.reveal()


def test_503_twice_then_success_waits_for_retry_after(
    oauth: OAuthClient, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """REL-04: 503s say "not processed": resent with the same token after Retry-After."""
    busy = httpx.Response(503, headers={"Retry-After": "2"})
    gorgias.on(*TOKEN, busy, busy, httpx.Response(200, json=token_body("1")))
    assert refresh(oauth) == "at-1"
    assert len(gorgias.calls(*TOKEN)) == 3
    assert all(b"rt-0" in r.content for r in gorgias.calls(*TOKEN))
    assert len(clock.slept) == 2 and min(clock.slept) >= 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.WriteError("cut")],
)
def test_a_refresh_that_may_have_arrived_is_never_resent(
    failure: Exception, oauth: OAuthClient, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """Issue 9 / REL-03: one request, :class:`RefreshOutcomeUnknown`, no wait."""
    gorgias.on(*TOKEN, failure, httpx.Response(200, json=token_body("1")))
    with pytest.raises(RefreshOutcomeUnknown):
        refresh(oauth)
    assert len(gorgias.calls(*TOKEN)) == 1 and clock.slept == []


def test_a_code_that_may_have_arrived_is_never_resent(
    oauth: OAuthClient, gorgias: FakeGorgias
) -> None:
    """Issue 9 / REL-06: a read timeout on the exchange: one request, start again."""
    gorgias.on(*TOKEN, httpx.ReadTimeout("slow"), httpx.Response(200, json=token_body("1")))
    with pytest.raises(ExchangeOutcomeUnknown):
        oauth.exchange_code(
            ACME, code=Secret("code"), code_verifier=Secret("v" * 64), redirect_uri="https://x/cb"
        )
    assert len(gorgias.calls(*TOKEN)) == 1


def test_connect_errors_are_resent(
    oauth: OAuthClient, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """A connection never made: the server saw nothing, so the code is sent again."""
    refused = httpx.ConnectError("refused")
    gorgias.on(*TOKEN, refused, refused, httpx.Response(200, json=token_body("1")))
    result = oauth.exchange_code(
        ACME, code=Secret("code"), code_verifier=Secret("v" * 64), redirect_uri="https://x/cb"
    )
    assert result.tokens.access_token.reveal() == "at-1"
    assert len(gorgias.calls(*TOKEN)) == 3


def test_a_500_is_not_resent(oauth: OAuthClient, gorgias: FakeGorgias) -> None:
    """A 500 may follow an action: one request, a typed error."""
    gorgias.on(*TOKEN, httpx.Response(500), httpx.Response(200, json=token_body("1")))
    with pytest.raises(TokenEndpointError) as caught:
        refresh(oauth)
    assert caught.value.status_code == 500 and len(gorgias.calls(*TOKEN)) == 1


def test_retry_after_longer_than_the_deadline_fails_at_once(
    oauth: OAuthClient, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """429 with Retry-After: 60 and a 25 s budget: no sleep, the 429 is reported."""
    gorgias.on(*TOKEN, httpx.Response(429, headers={"Retry-After": "60"}))
    with pytest.raises(TokenEndpointError) as caught:
        refresh(oauth)
    assert caught.value.status_code == 429 and caught.value.retry_after == 60
    assert clock.slept == [] and len(gorgias.calls(*TOKEN)) == 1


def test_invalid_grant_is_final(oauth: OAuthClient, gorgias: FakeGorgias) -> None:
    """REL-05: invalid_grant is one request and an :class:`InvalidGrant`."""
    gorgias.on(*TOKEN, httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(InvalidGrant):
        refresh(oauth)
    assert len(gorgias.calls(*TOKEN)) == 1


def test_a_redirect_is_never_followed(oauth: OAuthClient, gorgias: FakeGorgias) -> None:
    """SEC-02: a 307 to another host is an error; nothing is sent there."""
    gorgias.on(*TOKEN, httpx.Response(307, headers={"Location": "https://evil.example/t"}))
    with pytest.raises(TokenEndpointError) as caught:
        refresh(oauth)
    assert caught.value.transient is False
    assert {r.url.host for r in gorgias.requests} == {"acme.gorgias.com"}


class Trickle(httpx.SyncByteStream):
    """An answer sent one byte per (fake) second, as a slow peer would."""

    def __init__(self, body: bytes, clock: FakeClock) -> None:
        self.body, self.clock = body, clock

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.body:
            self.clock.advance(1)
            yield bytes([byte])


def test_a_trickled_answer_ends_at_the_call_deadline(
    oauth: OAuthClient, gorgias: FakeGorgias, clock: FakeClock
) -> None:
    """Each read is quick but the whole answer is not: the deadline ends it, never resent."""
    body = b'{"access_token": "at-1", "token_type": "Bearer", "expires_in": 86400}' * 2
    gorgias.on(*TOKEN, lambda _request: httpx.Response(200, stream=Trickle(body, clock)))
    with pytest.raises(RefreshOutcomeUnknown):
        refresh(oauth)
    assert len(gorgias.calls(*TOKEN)) == 1
    assert oauth.policy.deadline <= len(body)  # the answer would have taken longer
