"""Gorgias cursor pagination: ``limit``/``cursor``/``order_by`` parsing and the list envelope.

A cursor is opaque to clients: base64url of ``{offset, list uri, order_by, issued-at}`` plus a
short HMAC made with a per-process key, so tampered, foreign or expired cursors (older than
config ``cursor_ttl``) are refused with 400, like Gorgias' short-lived cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_LIMIT, MAX_LIMIT = 30, 100
_KEY = secrets.token_bytes(32)


class PaginationError(ValueError):
    """A bad ``limit``, ``cursor`` or ``order_by`` (answered with 400)."""


def encode_cursor(offset: int, uri: str, order_by: str) -> str:
    payload = json.dumps(
        {"o": offset, "u": uri, "b": order_by, "t": int(time.time())}, separators=(",", ":")
    ).encode()
    mac = hmac.new(_KEY, payload, hashlib.sha256).digest()[:10]
    return base64.urlsafe_b64encode(mac + payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, uri: str, order_by: str | None, ttl: float) -> tuple[int, str]:
    """Return ``(offset, order_by)`` from a cursor made for ``uri``; raise PaginationError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:10], raw[10:]
        data = json.loads(payload)
    except (binascii.Error, ValueError):
        raise PaginationError("Invalid cursor") from None
    expected = hmac.new(_KEY, payload, hashlib.sha256).digest()[:10]
    if not hmac.compare_digest(mac, expected) or data.get("u") != uri:
        raise PaginationError("Invalid cursor")
    if time.time() - data["t"] > ttl:
        raise PaginationError("Cursor expired")
    if order_by is not None and order_by != data["b"]:
        raise PaginationError("order_by does not match the cursor")
    return int(data["o"]), str(data["b"])


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise PaginationError("limit must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise PaginationError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _sort(items: Sequence[dict[str, Any]], order_by: str, fields: Sequence[str]) -> list[Any]:
    field, _, direction = order_by.partition(":")
    if field not in fields or direction not in ("asc", "desc"):
        raise PaginationError(
            f"order_by must be <field>:asc|desc with field one of {', '.join(fields)}"
        )
    return sorted(
        items, key=lambda item: (item.get(field) or "", item["id"]), reverse=direction == "desc"
    )


def paginate(
    items: Sequence[dict[str, Any]],
    uri: str,
    args: Mapping[str, str],
    *,
    ttl: float,
    default_order: str = "created_datetime:desc",
    fields: Sequence[str] = ("created_datetime", "updated_datetime", "id"),
) -> dict[str, Any]:
    """Return one page of ``items`` in Gorgias' list envelope."""
    limit = _parse_limit(args.get("limit"))
    order_by, cursor = args.get("order_by"), args.get("cursor")
    offset = 0
    if cursor:
        offset, order_by = decode_cursor(cursor, uri, order_by, ttl)
    order_by = order_by or default_order
    ordered = _sort(items, order_by, fields)
    page = ordered[offset : offset + limit]
    more = offset + limit < len(ordered)
    return {
        "object": "list",
        "uri": uri,
        "data": page,
        "meta": {
            "prev_cursor": encode_cursor(max(0, offset - limit), uri, order_by)
            if offset > 0
            else None,
            "next_cursor": encode_cursor(offset + limit, uri, order_by) if more else None,
        },
    }
