"""redirect_uri matching: loopback callbacks by default, exact and prefix on demand."""

from __future__ import annotations

from typing import Any

import pytest

from gorgias_sandbox.redirects import is_loopback_callback

ACCEPTED = [
    "http://127.0.0.1:5000/oauth/callback",
    "http://127.0.0.1/cb",
    "http://localhost:65535/a/b?x=1",
    "http://[::1]:8080/callback",
]
REFUSED = [
    "https://127.0.0.1:1/x",  # https loopback: refused unless registered (strict)
    "http://127.0.0.1.evil.com/",
    "http://localhost@evil.com/",
    "http://user:pw@127.0.0.1:5000/cb",
    "http://evil.com@127.0.0.1:5000/cb",
    "http://127.0.0.1:5000/cb#frag",
    "http://127.0.0.1:5000",
    "http://127.0.0.1:0/cb",
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:5000\\@evil.com/cb",
    "http://127.0.0.1:5000/c b",
    "http://LOCALHOST:5000/cb",
    "http://127.1:5000/cb",
    "http://0.0.0.0:5000/cb",
    "http://[::1].evil.com/cb",
    "http://localhost.:5000/cb",
    "//127.0.0.1:5000/cb",
    "javascript:alert(1)//http://127.0.0.1/",
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_loopback_callbacks_are_recognised(uri: str) -> None:
    """Plain-http callbacks on 127.0.0.1, localhost and [::1], on any port, are loopback."""
    assert is_loopback_callback(uri)


@pytest.mark.parametrize("uri", REFUSED)
def test_look_alikes_are_not_loopback(uri: str) -> None:
    """Userinfo, fragments, look-alike hosts, https and odd ports are not loopback callbacks."""
    assert not is_loopback_callback(uri)


def test_default_mode_accepts_any_loopback_callback(flow: Any) -> None:
    """By default an app on another loopback port gets its code, no registration needed."""
    assert flow.world.config.redirect_uri_match == "loopback"
    for uri in ACCEPTED:
        response = flow.decide("approve", redirect_uri=uri)
        assert response.status_code == 302 and response.headers["location"].startswith(uri)
        token = flow.exchange(flow.query_of(response)["code"], redirect_uri=uri)
        assert token.status_code == 200, token.text


@pytest.mark.parametrize("uri", [*REFUSED, "https://app.example.com/cb"])
def test_default_mode_refuses_non_loopback_hosts(flow: Any, uri: str) -> None:
    """In loopback mode anything else that is not registered gets an HTML page, no redirect."""
    response = flow.consent(redirect_uri=uri)
    assert response.status_code == 400 and "location" not in response.headers


def test_registered_non_loopback_uri_still_works_in_loopback_mode(flow: Any) -> None:
    """A registered https callback is accepted exactly, as in exact mode."""
    flow.configure(redirect_uris=["https://app.example.com/cb", "https://127.0.0.1:1/x"])
    for uri in ("https://app.example.com/cb", "https://127.0.0.1:1/x"):
        assert flow.decide("approve", redirect_uri=uri).status_code == 302
    refused = flow.consent(redirect_uri="https://app.example.com/cb/other")
    assert refused.status_code == 400


def test_exact_mode_refuses_other_loopback_ports(flow: Any) -> None:
    """With redirect_uri_match=exact only the listed URIs pass, loopback or not."""
    flow.configure(redirect_uri_match="exact")
    assert flow.decide("approve").status_code == 302  # the registered one
    response = flow.consent(redirect_uri="http://127.0.0.1:5000/oauth/callback")
    assert response.status_code == 400 and "location" not in response.headers


def test_code_is_bound_to_the_loopback_uri_it_was_issued_for(flow: Any) -> None:
    """A code issued for one loopback callback cannot be exchanged with another one."""
    code = flow.code(redirect_uri="http://127.0.0.1:5000/cb")
    response = flow.exchange(code, redirect_uri="http://127.0.0.1:5001/cb")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_account_not_found_page_offers_a_way_back(flow: Any) -> None:
    """The unknown-account page links back to the validated app origin and to history."""
    response = flow.consent(account="nobody", redirect_uri="http://127.0.0.1:5000/oauth/callback")
    page = response.text
    assert response.status_code == 404
    assert 'id="back-to-app" class="button" href="http://127.0.0.1:5000/"' in page
    assert 'id="go-back"' in page and "history.back()" in page
    assert "acme, globex, initech" in page


@pytest.mark.parametrize(
    "extra",
    [
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": "http://localhost@evil.com/"},
        {"client_id": "nope", "redirect_uri": "http://127.0.0.1:5000/cb"},
        {"redirect_uri": "javascript:alert(1)//"},
    ],
)
def test_account_not_found_page_never_links_unvalidated_input(
    flow: Any, extra: dict[str, str]
) -> None:
    """A redirect_uri the client may not use is never turned into a link."""
    response = flow.consent(account="nobody", **extra)
    assert response.status_code == 404
    assert 'id="back-to-app"' not in response.text and 'id="go-back"' in response.text
    assert "evil" not in response.text and "javascript:alert" not in response.text
