"""SQLStateStore: single-use install states in SQL; only a hash of the state value is stored.

``consume`` deletes the row with a row-count check, so two racing callbacks see one winner
(SEC-03); the PKCE verifier is sealed like a token. Expired states are purged by
:meth:`SQLStateStore.purge_expired` (the worker runs it on a schedule) and on each issue.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import PendingInstall
from ...core.secret import Secret
from ...errors import InvalidState
from ..crypto import Keyring
from ..engine import WRITE_LOCK
from ..schema import install_states


class SQLStateStore:
    """Single-use install states in SQL; only a hash of the state value is stored (SEC-03)."""

    def __init__(self, engine: Engine, *, keyring: Keyring, clock: Clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock

    @staticmethod
    def _hash(state: str) -> str:
        return hashlib.sha256(state.encode()).hexdigest()

    def issue(self, state: str, pending: PendingInstall) -> None:
        """Remember ``pending`` under ``state``; purge expired states on the way."""
        key = self._hash(state)
        verifier = self.keyring.encrypt(
            pending.code_verifier.reveal(), context=f"state:{key}:code_verifier"
        )
        with self.engine.begin() as conn:
            conn.execute(
                delete(install_states).where(install_states.c.expires_at < self.clock.now())
            )
            conn.execute(
                insert(install_states).values(
                    state_hash=key,
                    browser_hash=pending.browser_hash,
                    account=pending.account,
                    issuer=pending.issuer,
                    nonce=pending.nonce,
                    code_verifier=verifier,
                    return_to=pending.return_to,
                    created_at=pending.created_at,
                    expires_at=pending.expires_at,
                )
            )

    def consume(self, state: str) -> PendingInstall:
        """Delete and return the record; raise :class:`InvalidState` if unknown or already used."""
        key = self._hash(state)
        S = install_states.c
        with self.engine.connect().execution_options(**{WRITE_LOCK: True}) as conn, conn.begin():
            row = conn.execute(select(install_states).where(S.state_hash == key)).mappings().first()
            if row is None:
                raise InvalidState("this install link is unknown or was already used")
            # Deleting with a row count check makes two racing callbacks see one winner.
            if conn.execute(delete(install_states).where(S.state_hash == key)).rowcount != 1:
                raise InvalidState("this install link was already used")
        return PendingInstall(
            account=Account(row["account"]),
            issuer=row["issuer"],
            nonce=row["nonce"],
            code_verifier=Secret(
                self.keyring.decrypt(row["code_verifier"], context=f"state:{key}:code_verifier")
            ),
            browser_hash=row["browser_hash"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            return_to=row["return_to"],
        )

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every state past its expiry; return how many were deleted."""
        cutoff = now or self.clock.now()
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(install_states).where(install_states.c.expires_at < cutoff)
                ).rowcount
            )

    def count(self) -> int:
        """How many states are pending (expired ones included until purged)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(install_states)).scalar_one())
