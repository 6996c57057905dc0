"""The WSGI side of fault injection: faults that act on a response the app already produced.

:class:`FaultMiddleware` wraps the Flask app. The request pipeline (``app.py``) marks the WSGI
environ with :func:`mark_fault` and lets the view act normally; the middleware then:

* ``drop_before`` / ``drop_after``: shuts the client's socket down (``werkzeug.socket``) and
  raises ``ConnectionResetError``, which werkzeug treats as a dropped connection and so writes
  nothing: the client sees ``httpx.RemoteProtocolError`` (or ``ReadError``). With no socket
  (httpx ``WSGITransport``, Flask's test client) the ``ConnectionResetError`` reaches the
  caller instead, the in-process equivalent of a reset;
* ``delay_after``: sleeps ``delay_ms`` before the first byte of the (finished) response;
* ``trickle``: buffers the body and yields it ``chunk_bytes`` at a time, sleeping
  ``interval_ms`` before each chunk after the first, with an exact ``Content-Length``.

Written by hand because no library injects these faults. The app's own response is closed when
the server closes the wrapped body, so ``call_on_close`` callbacks run after the answer.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .faults import FaultRule

FAULT_KEY = "gorgias_sandbox.fault"


def mark_fault(environ: dict[str, Any], rule: FaultRule) -> None:
    """Ask :class:`FaultMiddleware` to apply ``rule`` to this request's response."""
    environ[FAULT_KEY] = rule


def drop_socket(environ: Mapping[str, Any]) -> None:
    """Shut the client's socket down (both ways) so nothing more can be sent on it."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _SlowBody:
    """The finished body, sent late (``delay_after``) or slowly (``trickle``)."""

    def __init__(self, result: Iterable[bytes], body: bytes, rule: FaultRule) -> None:
        self.result, self.body, self.rule = result, body, rule

    def __iter__(self) -> Iterator[bytes]:
        rule, body = self.rule, self.body
        if rule.mode == "delay_after":
            time.sleep(rule.delay_ms / 1000)
            yield body
            return
        for start in range(0, len(body), rule.chunk_bytes):
            if start:
                time.sleep(rule.interval_ms / 1000)
            yield body[start : start + rule.chunk_bytes]

    def close(self) -> None:
        _close(self.result)


class FaultMiddleware:
    """WSGI middleware applying the response-side faults marked by :func:`mark_fault`."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return lambda data: None  # Flask never uses write(); kept for the WSGI contract

        result: Iterable[bytes] = self.wsgi_app(environ, capture)
        rule: FaultRule | None = environ.get(FAULT_KEY)
        if rule is not None and rule.mode in ("drop_before", "drop_after"):
            _close(result)
            drop_socket(environ)
            raise ConnectionResetError("sandbox fault: connection dropped")
        status, headers, exc_info = captured
        if rule is None or rule.mode not in ("delay_after", "trickle"):
            start_response(status, headers, exc_info)
            return result
        body = b"".join(result)
        # werkzeug sends the status line and headers with the first body chunk, so nothing
        # reaches the client before _SlowBody yields.
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))], exc_info)
        return _SlowBody(result, body, rule)
