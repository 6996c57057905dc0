"""Work that must finish even when the browser request waiting on it cannot wait any longer.

A token refresh sends a refresh token that Gorgias may rotate: abandoning it half way leaves
the outcome unknown, and the grant may be lost (REL-03). So when a refresh (or any change made
under the installation lock) is needed while answering a request, :func:`finish_detached` runs
it on a small thread pool, outside the request's deadline scope, with its own full budget; the
request waits for it only until its deadline and then gets :class:`GorgiasBusy` (a 503 page),
while the work completes, commits and announces its events as usual.

Outside a request (CLI, ``refresh-due``, background work) the work simply runs in the caller's
thread. Concurrent requests for the same work (same ``key``) share one run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from collections.abc import Hashable
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import Context
from typing import TypeVar

from ..core.clock import Clock
from ..core.deadline import current_deadline
from ..errors import GorgiasAppError
from ..errors import GorgiasBusy

log = logging.getLogger("gorgias_appkit.tokens")

T = TypeVar("T")
# Refreshes are short and bounded by the token endpoint's deadline; a few threads per process
# are plenty, and a queue behind them is still bounded by that deadline.
WORKERS = 8
RETRY_AFTER = 5.0

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_running: dict[Hashable, Future[object]] = {}


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="gorgias-detached")
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked child (a gunicorn worker) must not reuse the parent's threads.
    global _pool, _lock
    _pool, _lock = None, threading.Lock()
    _running.clear()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def finish_detached(work: Callable[[], T], *, key: Hashable, clock: Clock, what: str) -> T:
    """Return ``work()``; inside a request, stop waiting for it at the request's deadline.

    ``key`` names the work: a second request asking for the same key while it runs waits for
    the same run instead of starting another. Past the deadline :class:`GorgiasBusy` is raised
    and the work goes on to completion in the background.
    """
    scope = current_deadline()
    if scope is None:
        return work()
    future = _submit(work, key)
    try:
        return future.result(timeout=scope.remaining(clock))  # type: ignore[return-value]
    except FutureTimeout:
        scope.note_reached()
        log.info("%s continues in the background past the request's deadline", what)
        raise GorgiasBusy(
            f"{what} did not finish within the request's deadline; it goes on in the background",
            retry_after=RETRY_AFTER,
        ) from None


def _submit(work: Callable[[], T], key: Hashable) -> Future[object]:
    pool = _executor()
    with _lock:
        running = _running.get(key)
        if running is not None:
            return running
        # A fresh context: no request deadline reaches the work, whatever the thread inherits.
        future: Future[object] = pool.submit(Context().run, work)
        _running[key] = future
    future.add_done_callback(lambda done: _done(key, done))
    return future


def _done(key: Hashable, future: Future[object]) -> None:
    with _lock:
        if _running.get(key) is future:
            del _running[key]
    error = future.exception()
    if error is not None and not isinstance(error, GorgiasAppError):  # a bug: never lose it
        log.error("detached work failed", exc_info=(type(error), error, error.__traceback__))
