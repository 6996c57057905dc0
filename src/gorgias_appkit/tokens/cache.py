"""TokenCache: this process's copy of access tokens it recently read, with bounded staleness.

``access_token_for`` is called before every API request, and reading and decrypting the row costs
a database round trip (0.1 ms on SQLite, 0.5 ms and more on PostgreSQL). This cache keeps the
access token of an account this process just read, for at most ``max_age`` seconds and never
into the refresh leeway, so a busy process reads each account's row about once per ``max_age``.

Why a stale entry is harmless, and how stale it can be:

- In this process an entry is dropped the moment its installation changes: every change goes
  through the :class:`~.lock.InstallationLock`, whose release calls :meth:`forget` (a refresh, a
  disconnect, a health change), and a 401 drops it before the forced refresh (the ``stale=``
  path). An install or a purge forgets it too (``Kit``).
- Another process's change is seen within ``max_age`` seconds. Until then this process may send
  the previous access token: after a refresh elsewhere, Gorgias either still accepts it, or
  answers 401, and the 401 path re-reads the row under the lock and retries once with the new
  token (one retried call, no refresh). After a disconnect elsewhere the token is revoked, and
  the 401 path finds the installation gone.
- A read that raced with a change (read before, stored after the change forgot the entry) is
  not stored: :meth:`ticket` is taken before the read and :meth:`put` refuses a ticket older than
  the last :meth:`forget`.

Bounded in size (oldest entry evicted first); ``max_age = 0`` turns the cache off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from ..core.account import Account
from ..core.clock import Clock
from ..core.records import TokenSet
from ..core.secret import Secret

DEFAULT_MAX_AGE = 10.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    token: Secret
    valid_until: datetime


class TokenCache:
    """Access tokens by account, each kept until the earlier of its age limit and its leeway."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.clock = clock
        self.max_age = timedelta(seconds=max(0.0, max_age))
        self.max_entries = max(1, max_entries)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()  # held for dictionary operations only, never a wait
        self._forgotten = 0  # bumped by every forget: a ticket older than this is refused

    def __repr__(self) -> str:
        return f"TokenCache(max_age={self.max_age.total_seconds():g}s, entries={len(self)})"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        """Whether anything is ever cached (``max_age`` above zero)."""
        return bool(self.max_age)

    def get(self, account: Account) -> Secret | None:
        """The cached access token of ``account``, or ``None`` when absent or too old."""
        entry = self._entries.get(account)
        if entry is None:
            return None
        if self.clock.now() < entry.valid_until:
            return entry.token
        with self._lock:
            if self._entries.get(account) is entry:
                del self._entries[account]
        return None

    def holds(self, account: Account) -> bool:
        """Whether a usable token of ``account`` is cached (so the installation exists)."""
        return self.get(account) is not None

    def ticket(self) -> int:
        """Take before reading the row; hand to :meth:`put` with what was read."""
        return self._forgotten

    def put(self, account: Account, tokens: TokenSet, *, ticket: int, leeway: float) -> None:
        """Cache ``tokens`` read with ``ticket``, unless a change was forgotten since."""
        if not self.max_age:
            return
        now = self.clock.now()
        until = min(now + self.max_age, tokens.expires_at - timedelta(seconds=leeway))
        if until <= now:
            return  # inside the leeway: every call must see the row (a refresh is due)
        with self._lock:
            if ticket != self._forgotten:
                return  # the row changed while it was being read: the next call reads again
            self._entries.pop(account, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest entry
            self._entries[account] = _Entry(tokens.access_token, until)

    def forget(self, account: Account | None = None) -> None:
        """Drop ``account``'s entry (every entry by default); reads in flight are not stored."""
        with self._lock:
            self._forgotten += 1
            if account is None:
                self._entries.clear()
            else:
                self._entries.pop(account, None)
