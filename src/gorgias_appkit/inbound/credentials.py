"""Per-installation keys: what proves that a call to the app comes from Gorgias.

Gorgias signs nothing; an integration sends the headers the app gave it. So each installation
gets its own key: 32 random bytes from :mod:`secrets`, sealed at rest with the keyring (bound to
its row), sent by Gorgias in ``X-Appkit-Key``, and compared in constant time against the keys
the account accepts (every candidate is compared, none is skipped on a match). An install or a
reinstall issues a fresh key and the old ones stop working at once; disconnect and an inferred
uninstall delete them; :meth:`InboundKeys.rotate` issues a new key while the previous one keeps
working for ``GORGIAS_INBOUND_KEY_GRACE`` seconds, so nothing is refused while Gorgias is being
told. No key, nor anything derived from one, is logged. Stdlib only (the store is a port).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Protocol

from ..core.account import Account
from ..core.clock import Clock
from ..core.inbound_records import StoredKey
from ..core.secret import Secret

MAX_KEY_LENGTH = 256


class KeyStore(Protocol):
    """What :class:`InboundKeys` needs from the store (``store/sql/inbound_keys.py``)."""

    def replace(self, account: Account, key: Secret) -> str: ...

    def rotate(self, account: Account, key: Secret, *, retire_at: datetime) -> str: ...

    def accepted(self, account: Account) -> list[StoredKey]: ...

    def current(self, account: Account) -> StoredKey | None: ...

    def forget(self, account: Account) -> int: ...

    def purge_retired(self) -> int: ...


def new_key() -> Secret:
    """A fresh key: 32 random bytes, urlsafe base64 (43 characters)."""
    return Secret(secrets.token_urlsafe(32))


class InboundKeys:
    """Issue, rotate, check and forget the keys of every installation."""

    def __init__(self, store: KeyStore, *, clock: Clock, grace: float) -> None:
        self.store = store
        self.clock = clock
        self.grace = grace

    def __repr__(self) -> str:
        return f"InboundKeys(grace={self.grace!r})"

    def issue(self, account: Account) -> Secret:
        """A new key for a (re)install; every older key of ``account`` stops working now."""
        key = new_key()
        self.store.replace(account, key)
        return key

    def rotate(self, account: Account) -> Secret:
        """A new current key; the previous one keeps working for the grace period."""
        key = new_key()
        self.store.rotate(account, key, retire_at=self.clock.now() + timedelta(seconds=self.grace))
        return key

    def current(self, account: Account) -> Secret | None:
        """The key the account's integrations should carry, if any."""
        found = self.store.current(account)
        return found.key if found else None

    def verify(self, account: Account, presented: str | None) -> bool:
        """Whether ``presented`` is a key ``account`` accepts now (constant time per key)."""
        sent = (presented or "").encode()[:MAX_KEY_LENGTH]
        matched = False
        for stored in self.store.accepted(account):
            # No early exit: the time taken does not say which key (if any) matched.
            matched |= hmac.compare_digest(sent, stored.key.reveal().encode())
        return matched and bool(sent)

    def forget(self, account: Account) -> int:
        """Delete every key of ``account``: calls for it are refused from now on."""
        return self.store.forget(account)
