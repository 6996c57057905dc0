"""Issue 12, goal 1: the API client's cheaper request builder builds exactly httpx's request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gorgias_appkit.api.transport import build_request

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
    """Same method, URL, headers (client defaults merged), body and timeout as build_request."""
    ours = build_request(
        client, method, URL, params=params, json=json, headers={"Accept": "a/b"}, timeout=TIMEOUT
    )
    theirs = client.build_request(
        method, URL, params=params, json=json, headers={"Accept": "a/b"}, timeout=TIMEOUT
    )
    assert built(ours) == built(theirs)
