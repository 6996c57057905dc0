"""Fault injection: rule parsing and matching, and the status / delay / drop / redirect actions.

A rule matches on the path after the account prefix (``fnmatch`` glob, so ``/api/*`` works),
and optionally on account, HTTP method and form ``grant_type``. ``count`` is how many matching
requests it applies to (``-1``: forever). Modes:

* ``status``: answer ``status`` (with ``Retry-After`` if ``retry_after`` is set) without acting;
* ``delay``: sleep ``delay_ms`` and then act normally;
* ``drop_before``: close the connection without acting;
* ``drop_after``: act (e.g. issue or rotate tokens), then close the connection unanswered;
* ``redirect``: answer ``status`` (default 307) with ``Location: location``.

Dropping is done by :class:`DropMiddleware` around the Flask app, written by hand because no
library does this. On werkzeug's server it shuts the socket down (``werkzeug.socket``) and
raises ``ConnectionResetError``, which werkzeug treats as a dropped connection and so writes
nothing: the client sees ``httpx.RemoteProtocolError`` (or ``ReadError``). With no socket
(httpx ``WSGITransport``, Flask's test client) the ``ConnectionResetError`` propagates to the
caller instead, which is the in-process equivalent of a reset.
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("status", "delay", "drop_before", "drop_after", "redirect")
DROP_KEY = "gorgias_sandbox.drop"
_FIELDS = (
    "path",
    "account",
    "grant_type",
    "method",
    "mode",
    "status",
    "retry_after",
    "body",
    "delay_ms",
    "location",
    "count",
)


@dataclass
class FaultRule:
    """One fault rule; ``remaining`` counts down from ``count`` (-1 never does)."""

    id: int
    path: str
    mode: str
    account: str | None = None
    grant_type: str | None = None
    method: str | None = None
    status: int | None = None
    retry_after: int | str | None = None
    body: Any = None
    delay_ms: int = 0
    location: str | None = None
    count: int = 1
    remaining: int = 1
    hits: int = 0

    @classmethod
    def from_dict(cls, rule_id: int, data: Mapping[str, Any]) -> FaultRule:
        """Validate a JSON rule; raise ``ValueError`` listing every problem."""
        problems = [f"unknown field {k!r}" for k in data if k not in _FIELDS]
        path, mode = data.get("path"), data.get("mode")
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append("path must be a string starting with '/'")
        if mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}")
        status = data.get("status", 307 if mode == "redirect" else None)
        if mode in ("status", "redirect") and not _is_int(status, 100, 599):
            problems.append("status must be an HTTP status code (100-599)")
        delay_ms = data.get("delay_ms", 0)
        if not _is_int(delay_ms, 0, 600_000) or (mode == "delay" and delay_ms <= 0):
            problems.append("delay_ms must be an integer in 0..600000 (> 0 for mode=delay)")
        count = data.get("count", 1)
        if not _is_int(count, -1, 10**9) or count == 0:
            problems.append("count must be a positive integer or -1 (forever)")
        retry_after = data.get("retry_after")
        if retry_after is not None and not (
            _is_int(retry_after, 0, 10**7) or isinstance(retry_after, str)
        ):
            problems.append("retry_after must be whole seconds or an HTTP-date string")
        if mode == "redirect" and not isinstance(data.get("location"), str):
            problems.append("location is required for mode=redirect")
        for name in ("account", "grant_type", "method", "location"):
            if data.get(name) is not None and not isinstance(data[name], str):
                problems.append(f"{name} must be a string")
        if problems:
            raise ValueError("; ".join(problems))
        method = data.get("method")
        return cls(
            id=rule_id,
            path=str(path),
            mode=str(mode),
            account=data.get("account"),
            grant_type=data.get("grant_type"),
            method=method.upper() if method else None,
            status=status,
            retry_after=retry_after,
            body=data.get("body"),
            delay_ms=delay_ms,
            location=data.get("location"),
            count=count,
            remaining=count,
        )

    def matches(self, account: str, path: str, method: str, grant_type: str | None) -> bool:
        """True when this rule applies to the request and has uses left."""
        return (
            self.remaining != 0
            and fnmatch.fnmatchcase(path, self.path)
            and (self.account is None or self.account == account)
            and (self.method is None or self.method == method.upper())
            and (self.grant_type is None or self.grant_type == grant_type)
        )

    def consume(self) -> None:
        """Record one use."""
        self.hits += 1
        if self.remaining > 0:
            self.remaining -= 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as listed by ``GET /_sandbox/faults``."""
        return asdict(self)


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def default_body(rule: FaultRule, api: bool, error_shape: str) -> Any:
    """Body for a ``status`` fault that did not specify one."""
    if rule.body is not None:
        return rule.body
    if api:
        msg = f"Injected HTTP {rule.status}"
        return {"error": msg} if error_shape == "string" else {"error": {"msg": msg}}
    return {
        "error": "server_error" if (rule.status or 500) >= 500 else "invalid_request",
        "error_description": f"Injected HTTP {rule.status}",
    }


def mark_drop(environ: dict[str, Any]) -> None:
    """Ask :class:`DropMiddleware` to drop this request's connection."""
    environ[DROP_KEY] = True


def drop_socket(environ: Mapping[str, Any]) -> None:
    """Shut the client's socket down (both ways) so nothing more can be sent on it."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class DropMiddleware:
    """WSGI middleware that drops connections marked by :func:`mark_drop`."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        result = self.wsgi_app(environ, start_response)
        if environ.get(DROP_KEY):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            drop_socket(environ)
            raise ConnectionResetError("sandbox fault: connection dropped")
        return result  # type: ignore[no-any-return]
