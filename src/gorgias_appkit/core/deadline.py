"""The request deadline: one time limit for everything a browser request waits on. Stdlib only.

The Flask glue opens a :func:`request_deadline` scope around each request
(``GORGIAS_REQUEST_DEADLINE`` seconds); the services need no Flask to honour it:

- every outbound call starts its retry budget with :meth:`RetryPolicy.start
  <.retry.RetryPolicy.start>`, which takes the smaller of the call's own deadline and what is left
  of the scope's (so the API client, the rate budget's wait and the OAuth calls are bounded);
- work that must never be cut short (a token refresh: a rotating refresh token sent and then
  abandoned may lose the grant) runs to completion off the request, and only the request stops
  waiting (``tokens/detached.py``).

Outside a scope (the CLI, ``refresh-due``, hooks run by background work, that detached work
itself) :func:`current_deadline` is ``None`` and calls keep their own, longer budgets. The scope
lives in a :mod:`contextvars` variable, so each thread (and each request) sees its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .clock import Clock

DEFAULT_REQUEST_DEADLINE = 10.0


@dataclass(slots=True, eq=False)
class RequestDeadline:
    """When the current request must have its answer, as a POSIX time on the kit's clock.

    ``reached`` is set by whoever stopped waiting because of it (a retry not made, a call not
    sent, a refresh left to finish in the background), so the web layer can tell "Gorgias is
    busy" apart from an ordinary failure.
    """

    at: float
    reached: bool = False

    def remaining(self, clock: Clock) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - clock.now().timestamp())

    def note_reached(self) -> None:
        """Record that some call stopped short because of this deadline."""
        self.reached = True


_CURRENT: ContextVar[RequestDeadline | None] = ContextVar("gorgias_request_deadline", default=None)


def current_deadline() -> RequestDeadline | None:
    """The deadline of the request being answered in this context, if any."""
    return _CURRENT.get()


@contextmanager
def request_deadline(seconds: float, *, clock: Clock) -> Iterator[RequestDeadline]:
    """Run the block under a deadline ``seconds`` from now (nested scopes only shorten it)."""
    at = clock.now().timestamp() + seconds
    outer = _CURRENT.get()
    scope = RequestDeadline(at=min(at, outer.at) if outer is not None else at)
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
