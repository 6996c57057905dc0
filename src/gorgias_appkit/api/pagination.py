"""Cursor pagination: follow ``meta.next_cursor`` one page at a time, as a lazy iterator.

Gorgias lists answer ``{"data": [...], "meta": {"next_cursor": ...}}`` with ``limit`` up to
100 (gorgias-platform.md §4.3). Nothing here holds more than one page; a page is fetched only
when the previous one has been consumed. Cursors are short-lived, so they are never stored.
Stdlib only: the fetching is a callable the client passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from ..errors import ApiError

MAX_LIMIT = 100
Fetch = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]


def iterate_pages(
    fetch: Fetch, path: str, params: Mapping[str, Any] | None, *, limit: int, account: str
) -> Iterator[list[Mapping[str, Any]]]:
    """Yield each page's items; the next page is requested only when asked for."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    query["limit"] = max(1, min(limit, MAX_LIMIT))
    while True:
        page = fetch(path, query)
        data = page.get("data")
        if not isinstance(data, list):
            raise ApiError(f"GET {path}: list answer has no data", account=account, status_code=200)
        yield [item for item in data if isinstance(item, Mapping)]
        meta = page.get("meta")
        cursor = meta.get("next_cursor") if isinstance(meta, Mapping) else None
        if not isinstance(cursor, str) or not cursor:
            return
        query = {**query, "cursor": cursor}


def iterate_items(
    fetch: Fetch, path: str, params: Mapping[str, Any] | None, *, limit: int, account: str
) -> Iterator[Mapping[str, Any]]:
    """Yield every item of a list endpoint, one page in memory at a time."""
    for page in iterate_pages(fetch, path, params, limit=limit, account=account):
        yield from page
