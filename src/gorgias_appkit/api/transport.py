"""HTTP plumbing shared by the OAuth and REST clients: one exchange, read whole within a deadline.

httpx timeouts bound each socket operation, not a whole answer: a server that trickles one byte
at a time never trips them. :func:`exchange` therefore reads the body in chunks and gives up
(``httpx.ReadTimeout``) once the call's deadline passes, and refuses bodies over
:data:`MAX_BODY`. Redirects are never followed (SEC-02). :func:`transport_outcome` tells a
request that never left (safe to resend) from one that may have reached the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import httpx

from ..core.clock import Clock
from ..core.retry import Outcome

# The connection was never made, so the server cannot have seen the request.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_BODY = 8 * 1024 * 1024  # far above any Gorgias answer, far below anything that hurts
_WIRE = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class BodyTooLarge(httpx.DecodingError):
    """The server sent more than :data:`MAX_BODY` bytes."""


def transport_outcome(exc: httpx.TransportError) -> Outcome:
    """``NOT_SENT`` for connect failures; anything later may have reached the server."""
    return Outcome.NOT_SENT if isinstance(exc, NOT_SENT) else Outcome.UNKNOWN


def timeout_within(configured: httpx.Timeout, remaining: float) -> httpx.Timeout:
    """The configured timeouts, each shortened to what is left of the call's deadline."""
    left = max(remaining, 0.1)  # a floor: a call at its very deadline still gets a chance
    if all(
        v is not None and v <= left
        for v in (configured.connect, configured.read, configured.write, configured.pool)
    ):
        return configured  # the usual case: nothing to shorten, nothing to build

    def cap(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cap(configured.connect),
        read=cap(configured.read),
        write=cap(configured.write),
        pool=cap(configured.pool),
    )


@lru_cache(maxsize=2048)
def parse_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, kept: httpx parses every URL string it is given, a sizeable share of a
    fast call's cost, and an ``httpx.URL`` is immutable, so one parse serves every call."""
    return httpx.URL(url)


def default_headers(http: httpx.Client, headers: Mapping[str, str]) -> httpx.Headers:
    """The client's default headers with ``headers`` on top: build once, pass to every request."""
    merged = http.headers.copy()
    merged.update(headers)
    return merged


def build_request(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    json: Mapping[str, Any] | None,
    headers: Mapping[str, str] | httpx.Headers,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """``http.build_request`` for an absolute URL, minus its per-call copies when it can.

    httpx copies the client's cookie jar and query parameters into every request it builds,
    merges its default headers, and parses the URL string (together more than a tenth of a fast
    call's cost); a client holding no cookies or parameters (the kit's own never does) gets the
    very same request built from a parsed URL kept by :func:`parse_url`. ``headers`` given as
    ``httpx.Headers`` are taken as complete (:func:`default_headers`: merging the defaults again
    would change nothing); a plain mapping is merged with the client's defaults. Any other
    client goes through httpx's own builder.
    """
    if http.cookies or http.params:
        return http.build_request(
            method, url, params=params, json=json, headers=headers, timeout=timeout
        )
    if isinstance(headers, httpx.Headers):
        merged = headers.copy()  # the request's own: auth adds to it
    else:
        merged = default_headers(http, headers)
    return httpx.Request(
        method,
        parse_url(url),
        params=params,
        json=json,
        headers=merged,
        extensions={"timeout": timeout.as_dict()},
    )


def exchange(
    http: httpx.Client,
    request: httpx.Request,
    *,
    clock: Clock,
    deadline_at: float,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """Send ``request`` and read its whole answer before ``deadline_at`` (POSIX seconds)."""
    response = http.send(
        request, stream=True, follow_redirects=False, auth=auth or httpx.USE_CLIENT_DEFAULT
    )
    try:
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            return _decoded_within(response, request, clock=clock, deadline_at=deadline_at)
        # Not encoded: the bytes on the wire are the body, so bounding them bounds the body,
        # and httpx reads them into this very response (no second response to build).
        response.stream = _Bounded(response.stream, request, clock=clock, deadline_at=deadline_at)
        response.read()
    finally:
        response.close()
    return response


class _Bounded(httpx.SyncByteStream):
    """The answer's bytes, read up to :data:`MAX_BODY` and until the call's deadline."""

    def __init__(
        self, inner: object, request: httpx.Request, *, clock: Clock, deadline_at: float
    ) -> None:
        if not isinstance(inner, httpx.SyncByteStream):
            raise TypeError("a synchronous client was expected")
        self.inner, self.request = inner, request
        self.clock, self.deadline_at = clock, deadline_at

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self.inner:
            size += len(chunk)
            if size > MAX_BODY:
                raise BodyTooLarge("the answer is too large", request=self.request)
            yield chunk
            if self.clock.now().timestamp() > self.deadline_at:
                raise httpx.ReadTimeout("the answer did not arrive in time", request=self.request)

    def close(self) -> None:
        self.inner.close()


def _decoded_within(
    response: httpx.Response, request: httpx.Request, *, clock: Clock, deadline_at: float
) -> httpx.Response:
    """An encoded (compressed) answer: bound its *decoded* size, then rebuild it decoded."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge("the answer is too large", request=request)
        chunks.append(chunk)
        if clock.now().timestamp() > deadline_at:
            raise httpx.ReadTimeout("the answer did not arrive in time", request=request)
    # The body is already decoded: drop the headers that describe its encoding on the wire.
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=request,
        extensions={"http_version": response.extensions.get("http_version", b"HTTP/1.1")},
    )


def json_body(response: httpx.Response) -> object:
    """The decoded JSON object or list of an answer, else ``None`` (never raises)."""
    try:
        body: object = response.json()
    except ValueError:
        return None
    return body if isinstance(body, Mapping | list) else None
