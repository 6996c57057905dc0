"""Time as an injectable dependency: every datetime in the kit is aware UTC. Stdlib only."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Where the kit reads the time; tests pass a fake."""

    def now(self) -> datetime:
        """Return the current aware-UTC time."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current aware-UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


def system_clock() -> Clock:
    """Return the real clock."""
    return SystemClock()


def from_timestamp(seconds: float) -> datetime:
    """Turn a POSIX timestamp (e.g. a JWT ``exp``) into an aware-UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)
