"""InstallationLock: the one way to change an installation, shared by refresh and disconnect.

Holding it means holding this process's lock on the account (threads queue here instead of on
the database) and then the store's lock on the account's row (``SELECT … FOR UPDATE`` /
``BEGIN IMMEDIATE``: processes and instances queue there), so one change at a time happens to
an installation anywhere (REL-01, REL-10). Lifecycle events queued inside the block are
announced only after both locks are released and the change committed: if the block raises,
everything rolled back and nothing is announced, and a hook may call the kit again.

Whoever keeps copies of an installation (the token cache, :mod:`.cache`) passes ``on_release``:
it runs once the block is over and its change committed (or rolled back), so a copy is dropped
after every change this process makes, never before the change is visible.

The per-account locks live in a weak dictionary: an account nobody is working on costs nothing,
so a long-running process serving 100,000 accounts keeps only the locks in use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from weakref import WeakValueDictionary

from ..core.account import Account
from ..core.events import Hooks
from ..core.events import LifecycleEvent
from ..core.records import Installation
from ..errors import TokensUnreadable
from ..store.ports import InstallationStore
from ..store.ports import LockedInstallation

log = logging.getLogger("gorgias_appkit.tokens")


@dataclass
class Held:
    """The locked row and the events to announce once the change is committed."""

    row: LockedInstallation
    events: list[LifecycleEvent] = field(default_factory=list)

    def announce(self, event: LifecycleEvent) -> None:
        """Queue ``event`` for the hooks; it runs after commit, never inside the lock."""
        self.events.append(event)


def tokens_unreadable(installation: Installation) -> TokensUnreadable:
    """The error for an installation whose tokens the configured keys cannot open, logged loudly.

    A configuration problem (a key missing from ``GORGIAS_ENCRYPTION_KEYS``, or a value moved
    from another row), never an uninstall: nothing is written, and the installation works again
    once the right key is configured.
    """
    log.error(
        "stored tokens cannot be opened (%s): check GORGIAS_ENCRYPTION_KEYS",
        installation.unreadable,
        extra={"account": installation.account, "event": "tokens_unreadable"},
    )
    return TokensUnreadable(installation.account, installation.unreadable or "")


class InstallationLock:
    """Serialises every change to one installation across threads, processes and instances."""

    def __init__(
        self,
        store: InstallationStore,
        hooks: Hooks,
        *,
        on_release: Callable[[Account], None] | None = None,
    ) -> None:
        self.store = store
        self.hooks = hooks
        self.on_release = on_release
        self._locks: WeakValueDictionary[str, threading.Lock] = WeakValueDictionary()
        self._guard = threading.Lock()

    def _local(self, account: Account) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(account)
            if lock is None:
                lock = threading.Lock()
                self._locks[account] = lock
            return lock

    @contextmanager
    def hold(self, account: Account) -> Iterator[Held]:
        """Hold ``account``'s locks for the block; announce its events after commit."""
        local = self._local(account)  # a strong reference for as long as the block runs
        try:
            with local, self.store.locked(account) as row:
                held = Held(row)
                yield held
        finally:
            if self.on_release is not None:  # after commit: copies are re-read from now on
                self.on_release(account)
        for event in held.events:
            self.hooks.emit(event)

    def __len__(self) -> int:
        """How many accounts have a live in-process lock right now."""
        return len(self._locks)
