"""Fault injection rules: their fields, validation and matching, and the ``status`` body.

A rule matches on the path after the account prefix (``fnmatch`` glob, so ``/api/*`` works),
and optionally on account, HTTP method and form ``grant_type``. ``count`` is how many matching
requests it applies to (``-1``: forever). Modes:

* ``status``: answer ``status`` (with ``Retry-After: retry_after``, copied verbatim, whole
  seconds or an HTTP-date) without acting;
* ``delay``: sleep ``delay_ms``, *then* act and answer. A client that gives up before
  ``delay_ms`` leaves the server to act after it gave up;
* ``delay_after``: act first (issue or rotate tokens, consume a code, create an object), then
  sleep ``delay_ms`` before answering. A client that gives up before ``delay_ms`` gave up on a
  request the server had already carried out: re-sending the code is a code replay, re-sending
  a rotated refresh token is reuse;
* ``trickle``: act, then send the body ``chunk_bytes`` (default 1) at a time with
  ``interval_ms`` (default 100) between chunks. Each read is quick, the whole answer is slow:
  only a client with a total deadline gives up;
* ``drop_before``: close the connection without acting;
* ``drop_after``: act, then close the connection unanswered;
* ``redirect``: answer ``status`` (default 307) with ``Location: location``.

The pipeline (``app.py``) answers ``status`` and ``redirect`` itself and sleeps for ``delay``;
the other modes act on the finished response in :class:`~gorgias_sandbox.faultwsgi.FaultMiddleware`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("status", "delay", "delay_after", "trickle", "drop_before", "drop_after", "redirect")
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
    "chunk_bytes",
    "interval_ms",
)
_DELAYED = ("delay", "delay_after")


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
    chunk_bytes: int = 1
    interval_ms: int = 100
    count: int = 1
    remaining: int = 1
    hits: int = 0

    @classmethod
    def from_dict(cls, rule_id: int, data: Mapping[str, Any]) -> FaultRule:
        """Validate a JSON rule; raise ``ValueError`` listing every problem."""
        problems = _problems(data)
        if problems:
            raise ValueError("; ".join(problems))
        mode, method = str(data["mode"]), data.get("method")
        count = data.get("count", 1)
        return cls(
            id=rule_id,
            path=str(data["path"]),
            mode=mode,
            account=data.get("account"),
            grant_type=data.get("grant_type"),
            method=method.upper() if method else None,
            status=data.get("status", 307 if mode == "redirect" else None),
            retry_after=data.get("retry_after"),
            body=data.get("body"),
            delay_ms=data.get("delay_ms", 0),
            location=data.get("location"),
            chunk_bytes=data.get("chunk_bytes", 1),
            interval_ms=data.get("interval_ms", 100),
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


def _problems(data: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a JSON rule (empty when it is valid)."""
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
    if not _is_int(delay_ms, 0, 600_000) or (mode in _DELAYED and delay_ms <= 0):
        problems.append("delay_ms must be an integer in 0..600000 (> 0 for delay, delay_after)")
    if not _is_int(data.get("chunk_bytes", 1), 1, 1 << 20):
        problems.append("chunk_bytes must be an integer in 1..1048576")
    if not _is_int(data.get("interval_ms", 100), 1, 60_000):
        problems.append("interval_ms must be an integer in 1..60000")
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
    return problems


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
