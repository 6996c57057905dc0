"""InstallFlow over a scripted Gorgias: the order of the callback checks and the abandoned grant."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
import pytest

from gorgias_appkit import AccessDenied
from gorgias_appkit import ApiError
from gorgias_appkit import InvalidState
from gorgias_appkit import Kit
from gorgias_appkit import OAuthError
from gorgias_appkit.errors import AccountMismatch
from gorgias_appkit.errors import ExchangeOutcomeUnknown
from gorgias_appkit.testing import FakeClock

from .conftest import FakeGorgias
from .conftest import token_body

BROWSER = "b" * 43
TOKEN = ("POST", "/oauth/token")
REVOKE = ("POST", "/oauth/revoke")


def begin(kit: Kit, browser: str = BROWSER) -> dict[str, str]:
    """Start an install for acme and return the authorize URL's query."""
    url = kit.begin_install("acme", browser_id=browser)
    assert url.startswith("https://acme.gorgias.com/oauth/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def callback(query: dict[str, str], **extra: str) -> dict[str, str]:
    return {"state": query["state"], "code": "the-code", **extra}


def test_begin_sends_pkce_s256_and_the_configured_redirect_uri(kit: Kit) -> None:
    """SEC-04/09: S256, a 43-character challenge, the configured redirect_uri."""
    query = begin(kit)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "https://app.example.com/oauth/callback"


def test_happy_path_stores_the_tokens(kit: Kit, gorgias: FakeGorgias) -> None:
    """The code is exchanged once, the account confirmed through the API, the tokens stored."""
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    result = kit.complete_install(callback(begin(kit)), browser_id=BROWSER)
    assert result.is_new and result.installation.tokens is not None
    assert len(gorgias.calls(*TOKEN)) == 1
    assert gorgias.calls("GET", "/api/account")[0].headers["Authorization"] == "Bearer at-1"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"browser": "c" * 43}, InvalidState),
        ({"iss": "https://evil.example"}, OAuthError),
        ({"error": "access_denied"}, AccessDenied),
    ],
)
def test_refusals_before_any_token_request(
    change: dict[str, str], error: type[Exception], kit: Kit, gorgias: FakeGorgias
) -> None:
    """Another browser, a foreign ``iss``, a denial: refused, the token endpoint never called."""
    query = callback(begin(kit))
    browser = change.pop("browser", BROWSER)
    with pytest.raises(error):
        kit.complete_install({**query, **change}, browser_id=browser)
    assert gorgias.calls(*TOKEN) == []


def test_an_expired_state_is_refused(kit: Kit, clock: FakeClock, gorgias: FakeGorgias) -> None:
    """SEC-03: past the state's TTL the callback is refused before any token request."""
    query = callback(begin(kit))
    clock.advance(601)
    with pytest.raises(InvalidState):
        kit.complete_install(query, browser_id=BROWSER)
    assert gorgias.calls(*TOKEN) == []


def test_a_state_is_used_once(kit: Kit, gorgias: FakeGorgias) -> None:
    """SEC-03: the second callback with the same state is refused."""
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    query = callback(begin(kit))
    kit.complete_install(query, browser_id=BROWSER)
    with pytest.raises(InvalidState):
        kit.complete_install(query, browser_id=BROWSER)
    assert len(gorgias.calls(*TOKEN)) == 1


def test_a_timed_out_exchange_stores_nothing_and_sends_the_code_once(
    kit: Kit, gorgias: FakeGorgias
) -> None:
    """Issue 9 / REL-06: :class:`ExchangeOutcomeUnknown`, one exchange, nothing stored."""
    gorgias.on(*TOKEN, httpx.ReadTimeout("slow"))
    with pytest.raises(ExchangeOutcomeUnknown):
        kit.complete_install(callback(begin(kit)), browser_id=BROWSER)
    assert len(gorgias.calls(*TOKEN)) == 1 and kit.installation("acme") is None


def test_confirmation_5xx_revokes_the_new_tokens(kit: Kit, gorgias: FakeGorgias) -> None:
    """Issue 9 item 6: the account check fails upstream: both tokens revoked, nothing stored."""
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    gorgias.on("GET", "/api/account", httpx.Response(502))
    with pytest.raises(ApiError) as caught:
        kit.complete_install(callback(begin(kit)), browser_id=BROWSER)
    assert caught.value.status_code == 502
    revoked = [r.content for r in gorgias.calls(*REVOKE)]
    assert any(b"rt-1" in body for body in revoked) and any(b"at-1" in body for body in revoked)
    assert kit.installation("acme") is None


def test_tokens_for_another_account_are_revoked(kit: Kit, gorgias: FakeGorgias) -> None:
    """SEC-18: the token sees globex, not acme: :class:`AccountMismatch`, revoked."""
    gorgias.on(*TOKEN, httpx.Response(200, json=token_body("1")))
    gorgias.on("GET", "/api/account", httpx.Response(200, json={"domain": "globex"}))
    with pytest.raises(AccountMismatch):
        kit.complete_install(callback(begin(kit)), browser_id=BROWSER)
    assert len(gorgias.calls(*REVOKE)) == 2 and kit.installation("acme") is None
