"""Test helpers for apps built on the kit (and for the kit's own tests).

- :class:`FakeClock`: time that moves only when told to, or when someone sleeps (no real wait);
- :class:`OffsetClock`: the real time plus an offset tests can move (for tests against a real
  sandbox, whose own clock is real);
- :mod:`.sandbox`: pytest fixtures running the sandbox (``pytest_plugins =
  ["gorgias_appkit.testing.sandbox"]``) and :class:`~.sandbox.InstallDriver`, which installs an
  account through your app the way a browser would;
- :mod:`.store_contract`: the tests every installation store backend must pass.

The sandbox itself is the ``gorgias-sandbox`` distribution (the kit's ``testing`` extra).
"""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

__all__ = ["FakeClock", "OffsetClock"]


class FakeClock:
    """A clock that moves only when told to (:meth:`advance`) or when someone sleeps.

    ``sleep`` returns at once and is recorded in :attr:`slept`, so retry and rate-limit waits
    are checked exactly and cost no time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime.now(UTC)
        if self.at.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.slept: list[float] = []

    def now(self) -> datetime:
        """The fake current time (aware UTC)."""
        return self.at

    def sleep(self, seconds: float) -> None:
        """Move the time forward instead of waiting; remember the wait."""
        self.slept.append(seconds)
        self.at += timedelta(seconds=max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        """Move the time forward (or back, with a negative number)."""
        self.at += timedelta(seconds=seconds)


class OffsetClock:
    """The real time plus an offset that tests move; sleeping really waits."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset)

    def now(self) -> datetime:
        """The real time plus the offset (aware UTC)."""
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        """Wait for real (the server on the other side lives in real time)."""
        if seconds > 0:
            time.sleep(seconds)

    def advance(self, seconds: float) -> None:
        """Move the offset forward."""
        self.offset += timedelta(seconds=seconds)
