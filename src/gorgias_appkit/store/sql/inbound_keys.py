"""The per-installation keys Gorgias sends with integration calls, sealed at rest.

Each key is 32 random bytes (urlsafe base64) chosen by :mod:`gorgias_appkit.inbound.credentials`;
the row holds it sealed with the keyring, bound to ``inbound_key:{account}:{key_id}`` so a
value moved to another row or account does not open. ``key_id`` is random too: it names a key
in a history line without saying anything about its value. The current key has no
``retires_at``; a rotated-out key keeps being accepted until its ``retires_at``. Only
SQLAlchemy and the stdlib.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from ...core.account import Account
from ...core.clock import Clock
from ...core.inbound_records import StoredKey
from ...core.secret import Secret
from ...errors import DecryptionError
from ..crypto import Keyring
from ..schema import inbound_keys

K = inbound_keys.c
log = logging.getLogger("gorgias_appkit.inbound")


def _context(account: str, key_id: str) -> str:
    return f"inbound_key:{account}:{key_id}"


class SQLInboundKeys:
    """The ``gorgias_inbound_keys`` table."""

    def __init__(self, engine: Engine, *, keyring: Keyring, clock: Clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLInboundKeys({self.engine.url.render_as_string(hide_password=True)!r})"

    def replace(self, account: Account, key: Secret) -> str:
        """Make ``key`` the only key of ``account`` (every older one stops working now)."""
        key_id = secrets.token_hex(8)
        with self.engine.begin() as conn:
            conn.execute(delete(inbound_keys).where(K.account == account))
            conn.execute(insert(inbound_keys).values(**self._row(account, key_id, key)))
        return key_id

    def rotate(self, account: Account, key: Secret, *, retire_at: datetime) -> str:
        """Make ``key`` current; the previous current key keeps working until ``retire_at``."""
        key_id = secrets.token_hex(8)
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                delete(inbound_keys).where(
                    K.account == account, K.retires_at.is_not(None), K.retires_at <= now
                )
            )
            conn.execute(
                update(inbound_keys)
                .where(K.account == account, K.retires_at.is_(None))
                .values(retires_at=retire_at)
            )
            conn.execute(insert(inbound_keys).values(**self._row(account, key_id, key)))
        return key_id

    def accepted(self, account: Account) -> list[StoredKey]:
        """The keys that open a call for ``account`` now, the current one first.

        A row the configured encryption keys cannot open is left out and logged (by key id):
        a missing encryption key must not let anything in, nor crash the endpoint.
        """
        now = self.clock.now()
        query = (
            select(inbound_keys)
            .where(K.account == account, or_(K.retires_at.is_(None), K.retires_at > now))
            .order_by(K.retires_at.is_not(None), K.created_at.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        opened = []
        for row in rows:
            try:
                plain = self.keyring.decrypt(
                    row["sealed_key"], context=_context(account, row["key_id"])
                )
            except DecryptionError as exc:
                log.error(
                    "an inbound key cannot be opened (%s)",
                    exc,
                    extra={"account": account, "event": "inbound_key_unreadable"},
                )
                continue
            opened.append(
                StoredKey(
                    key_id=row["key_id"],
                    key=Secret(plain),
                    created_at=row["created_at"],
                    retires_at=row["retires_at"],
                )
            )
        return opened

    def current(self, account: Account) -> StoredKey | None:
        """The key new integration payloads carry, or ``None``."""
        return next((k for k in self.accepted(account) if k.retires_at is None), None)

    def forget(self, account: Account) -> int:
        """Delete every key of ``account`` (disconnect, uninstall); return how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(inbound_keys).where(K.account == account)).rowcount)

    def purge_retired(self, now: datetime | None = None) -> int:
        """Delete the keys whose grace period is over; return how many."""
        cut = now or self.clock.now()
        with self.engine.begin() as conn:
            query = delete(inbound_keys).where(K.retires_at.is_not(None), K.retires_at <= cut)
            return int(conn.execute(query).rowcount)

    def _row(self, account: Account, key_id: str, key: Secret) -> dict[str, object]:
        return {
            "key_id": key_id,
            "account": account,
            "sealed_key": self.keyring.encrypt(key.reveal(), context=_context(account, key_id)),
            "created_at": self.clock.now(),
            "retires_at": None,
        }
