"""SEC-16: the callback leaks nothing: no Referer, a clean 303, no cache, no third-party content,
and a browser prefetch cannot burn the one-time code."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl


def test_callback_is_a_clean_303_with_no_referrer_and_no_store(
    installer: InstallDriver, sandbox: SandboxControl
) -> None:
    """SEC-16: 303 to a URL without code or state; Referrer-Policy no-referrer; no-store."""
    sandbox.configure(send_iss=True)
    callback = installer.consent(installer.start("acme"))
    response = installer.finish(callback)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/accounts/acme"
    for value in callback.query.values():
        assert value not in location
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert callback.query["code"] not in body and callback.query["state"] not in body


def test_every_oauth_response_is_no_store(installer: InstallDriver, client: FlaskClient) -> None:
    """SEC-16: install form, install redirect, callback failures: none may be cached."""
    responses = [
        client.get("/oauth/install"),
        client.get("/oauth/install?account=acme"),
        client.get("/oauth/install?account=evil.com"),
        client.get("/oauth/callback?state=unknown&code=x"),
        client.get("/oauth/callback?error=access_denied"),
        client.get("/oauth/callback", headers={"Sec-Purpose": "prefetch"}),
    ]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", response.request.url
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_load_no_third_party_content(installer: InstallDriver, client: FlaskClient) -> None:
    """SEC-16: every page of the flow loads only same-origin resources (and says no-referrer)."""
    installer.install("acme")
    pages = [
        client.get("/oauth/install"),
        client.get("/oauth/callback?state=unknown&code=x"),
        client.get("/accounts/acme"),
        client.get("/"),
    ]
    for page in pages:
        html = page.get_data(as_text=True)
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert url.startswith("/") and not url.startswith("//"), url
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<meta name="referrer" content="no-referrer">' in pages[0].get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
        {"X-Purpose": "preview"},
        {"X-Moz": "prefetch"},
    ],
)
def test_prefetch_does_not_consume_the_state_or_the_code(
    headers: dict[str, str],
    installer: InstallDriver,
    client: FlaskClient,
    app: Flask,
    sandbox: SandboxControl,
) -> None:
    """SEC-16: a prefetch of the callback gets a no-store 503; the real visit still installs."""
    callback = installer.consent(installer.start("acme"))
    prefetch = client.get(callback.path_and_query, headers=headers)
    assert prefetch.status_code == 503
    assert prefetch.headers["Cache-Control"] == "no-store"
    assert sandbox.count("acme", "oauth.token") == 0
    assert installer.finish(callback).status_code == 303
    assert sandbox.count("acme", "oauth.token") == 1
