"""The API client's cheaper request builder builds exactly the request httpx builds (issue 12)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gorgias_appkit.api.transport import build_request
from gorgias_appkit.api.transport import default_headers
from gorgias_appkit.api.transport import parse_url

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
URL = "https://acme.gorgias.com/api/tickets"


def built(request: httpx.Request) -> tuple[Any, ...]:
    return (
        request.method,
        str(request.url),
        sorted(request.headers.multi_items()),
        request.read(),
        request.extensions,
    )


@pytest.mark.parametrize(
    ("method", "params", "json"),
    [
        ("GET", {"limit": 1, "order_by": "created_datetime:desc"}, None),
        ("GET", None, None),
        ("POST", None, {"subject": "Hello", "tags": ["é", 2]}),
        ("DELETE", None, None),
    ],
)
@pytest.mark.parametrize(
    "client",
    [
        httpx.Client(),
        httpx.Client(headers={"User-Agent": "partner-app/1.0", "X-Extra": "1"}),
        httpx.Client(cookies={"__cf_bm": "abc"}),  # httpx's own builder: the cookie is sent
        httpx.Client(params={"debug": "1"}),
    ],
    ids=["default", "headers", "cookies", "params"],
)
def test_the_request_is_the_one_httpx_builds(
    client: httpx.Client, method: str, params: Any, json: Any
) -> None:
    """Same method, URL, headers (client defaults merged), body and timeout as build_request,
    whether the headers come as a mapping or merged beforehand with ``default_headers``."""
    theirs = client.build_request(
        method, URL, params=params, json=json, headers={"Accept": "a/b"}, timeout=TIMEOUT
    )
    for headers in ({"Accept": "a/b"}, default_headers(client, {"Accept": "a/b"})):
        ours = build_request(
            client, method, URL, params=params, json=json, headers=headers, timeout=TIMEOUT
        )
        assert built(ours) == built(theirs)


def test_merged_headers_are_copied_so_auth_never_leaks_into_the_next_request() -> None:
    """Auth adds ``Authorization`` to a request's headers: the shared merged set stays clean."""
    client = httpx.Client()
    shared = default_headers(client, {"Accept": "application/json"})
    first = build_request(
        client, "GET", URL, params=None, json=None, headers=shared, timeout=TIMEOUT
    )
    first.headers["Authorization"] = "Bearer one"
    second = build_request(
        client, "GET", URL, params=None, json=None, headers=shared, timeout=TIMEOUT
    )
    assert "authorization" not in shared and "authorization" not in second.headers


def test_a_kept_url_is_the_parsed_url_and_params_never_touch_it() -> None:
    """``parse_url`` returns one immutable parse; query parameters make a new URL per request."""
    client = httpx.Client()
    assert parse_url(URL) is parse_url(URL) and parse_url(URL) == httpx.URL(URL)
    paged = build_request(
        client, "GET", URL, params={"cursor": "x"}, json=None, headers={}, timeout=TIMEOUT
    )
    plain = build_request(client, "GET", URL, params=None, json=None, headers={}, timeout=TIMEOUT)
    assert str(paged.url) == f"{URL}?cursor=x" and str(plain.url) == URL
    assert str(parse_url(URL)) == URL
