"""The SQL installation and state stores (SQLite by default, PostgreSQL for several instances).

Tokens are encrypted before they reach a statement and decrypted after they leave a row; no
plaintext token is ever bound to SQL. The per-account lock is ``SELECT … FOR UPDATE`` on
PostgreSQL and ``BEGIN IMMEDIATE`` on SQLite, held for the whole block so a refresh's HTTP call
and its write happen under one lock (REL-01). Waiting for it is bounded (:data:`LOCK_WAIT_SECONDS`,
then :class:`StoreError`). Every write checks ``version`` (compare-and-swap).

:meth:`LockedRow.queue_revocation` queues a token for upstream revocation in the lock's own
transaction (REL-10; the queue itself is :mod:`.revocation_queue`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from ...core.clock import Clock
from ...core.records import Installation
from ...core.records import InstallEvent
from ...core.records import InstallStatus
from ...core.records import InstallUpdate
from ...core.records import PendingInstall
from ...core.records import TokenSet
from ...core.secret import Secret
from ...errors import ConcurrentUpdate
from ...errors import DecryptionError
from ...errors import InvalidState
from ...errors import StoreError
from ..crypto import DECRYPTION_FAILED
from ..crypto import Keyring
from ..engine import WRITE_LOCK
from ..ports import InstallationStore
from ..schema import install_events
from ..schema import install_states
from ..schema import installations
from .revocations import queue_revocation

T = installations.c
# How long a caller waits for another process's lock: SQLite's busy timeout (engine.py) and
# PostgreSQL's lock_timeout. A refresh's whole retry budget stays below it (oauth/client.py).
LOCK_WAIT_SECONDS = 30
# Built once: the fast path of access_token_for runs it on every call.
_FIND = select(installations).where(T.account == bindparam("account"))


def _context(account: str, column: str) -> str:
    return f"installation:{account}:{column}"


class SQLInstallationStore(InstallationStore):
    """Installations in SQL, tokens sealed with a :class:`Keyring`."""

    def __init__(self, engine: Engine, *, keyring: Keyring, clock: Clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLInstallationStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- reading ---------------------------------------------------------------------------
    def find(self, account: str) -> Installation | None:
        """Return the installation of ``account`` or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(_FIND, {"account": account}).mappings().first()
        if row is None:
            return None
        record = self._to_record(row)
        if record.last_error == DECRYPTION_FAILED and row["last_error"] != DECRYPTION_FAILED:
            record = self._flag_undecryptable(account) or record
        return record

    def _flag_undecryptable(self, account: str) -> Installation | None:
        # SEC-14 (issue 5): a ciphertext that does not open in this row (copied from another
        # account's row, or sealed with a key no longer configured) is never used: the row is
        # marked needs_reauth with a history event, and a reinstall replaces it.
        with self.locked(account) as lock:
            if lock.current is None or lock.current.last_error != DECRYPTION_FAILED:
                return lock.current
            return lock.apply(
                InstallUpdate(
                    status=InstallStatus.NEEDS_REAUTH,
                    last_error=DECRYPTION_FAILED,
                    event="decryption_failed",
                    detail="a stored token does not decrypt",
                )
            )

    def all(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account, reading in pages."""
        last = ""
        while True:
            with self.engine.connect() as conn:
                query = select(installations).where(T.account > last).order_by(T.account).limit(500)
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield self._to_record(row)
            last = rows[-1]["account"]

    def accounts_due(self, before: datetime) -> list[str]:
        """Return usable accounts whose access token expires before ``before``."""
        usable = [s.value for s in InstallStatus if s.usable]
        query = (
            select(T.account)
            .where(T.status.in_(usable), T.expires_at < before)
            .order_by(T.expires_at)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def history(self, account: str, *, limit: int = 50) -> list[InstallEvent]:
        """Return the newest events of ``account`` first."""
        E = install_events.c
        query = (
            select(install_events)
            .where(E.account == account)
            .order_by(E.at.desc(), E.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            InstallEvent(
                account=r["account"],
                at=r["at"],
                event=r["event"],
                from_status=r["from_status"],
                to_status=r["to_status"],
                detail=r["detail"],
            )
            for r in rows
        ]

    # -- writing ---------------------------------------------------------------------------
    def save_install(
        self, account: str, *, tokens: TokenSet, user_id: str | None, user_email: str | None
    ) -> tuple[Installation, bool]:
        """Store a fresh install or replace the account's previous one in one transaction."""
        with self.locked(account) as lock:
            previous = lock.current
            values = {
                **self._token_values(account, tokens),
                "status": InstallStatus.ACTIVE.value,
                "user_id": user_id,
                "user_email": user_email,
                "refresh_failures": 0,
                "next_refresh_at": None,
                "last_error": None,
                "updated_at": self.clock.now(),
            }
            # After a disconnect the app tore everything down: installing again is a new install,
            # so the "installed" hook runs again (issue 3).
            is_new = previous is None or previous.status is InstallStatus.UNINSTALLED
            lock.write(values, event="installed" if is_new else "reinstalled")
            return lock.record, is_new

    @contextmanager
    def locked(self, account: str) -> Iterator[LockedRow]:
        """Hold the account's lock across processes for the block (REL-01).

        The block's writes commit when it ends normally and roll back if it raises.
        """
        with self.engine.connect().execution_options(**{WRITE_LOCK: True}) as conn:
            try:
                transaction = conn.begin()
                row = self._lock_row(conn, account)
            except OperationalError as exc:  # SQLite busy timeout, PostgreSQL lock_timeout
                raise StoreError(f"could not lock installation {account!r} in time") from exc
            with transaction:
                yield LockedRow(self, conn, account, self._to_record(row) if row else None)

    def _lock_row(self, conn: Connection, account: str) -> RowMapping | None:
        query = select(installations).where(T.account == account)
        if self.engine.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
            query = query.with_for_update()
        return conn.execute(query).mappings().first()

    def delete(self, account: str) -> bool:
        """Forget every stored trace of ``account`` (tokens, history); return whether it existed."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(installations).where(T.account == account)).rowcount
            conn.execute(delete(install_events).where(install_events.c.account == account))
            conn.execute(delete(install_states).where(install_states.c.account == account))
        return bool(gone)

    # -- mapping ---------------------------------------------------------------------------
    def _token_values(self, account: str, tokens: TokenSet) -> dict[str, Any]:
        seal = self.keyring.encrypt
        refresh = tokens.refresh_token
        return {
            "access_token": seal(tokens.access_token.reveal(), context=_context(account, "access")),
            "refresh_token": seal(refresh.reveal(), context=_context(account, "refresh"))
            if refresh
            else None,
            "token_type": tokens.token_type,
            "expires_at": tokens.expires_at,
            "scopes": " ".join(tokens.scopes),
        }

    def _to_record(self, row: RowMapping) -> Installation:
        account = row["account"]
        tokens = None
        status, last_error = InstallStatus(row["status"]), row["last_error"]
        if row["access_token"]:
            open_ = self.keyring.decrypt
            refresh = row["refresh_token"]
            try:
                tokens = TokenSet(
                    access_token=Secret(
                        open_(row["access_token"], context=_context(account, "access"))
                    ),
                    refresh_token=Secret(open_(refresh, context=_context(account, "refresh")))
                    if refresh
                    else None,
                    expires_at=row["expires_at"],
                    scopes=tuple(row["scopes"].split()),
                    token_type=row["token_type"] or "Bearer",
                )
            except DecryptionError:  # SEC-14: never used, never a 500 (see _flag_undecryptable)
                status, last_error = InstallStatus.NEEDS_REAUTH, DECRYPTION_FAILED
        return Installation(
            account=account,
            status=status,
            tokens=tokens,
            version=row["version"],
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
            user_id=row["user_id"],
            user_email=row["user_email"],
            last_refresh_at=row["last_refresh_at"],
            refresh_failures=row["refresh_failures"],
            next_refresh_at=row["next_refresh_at"],
            last_error=last_error,
        )


@dataclass
class LockedRow:
    """One installation row while its lock is held (see :meth:`SQLInstallationStore.locked`)."""

    store: SQLInstallationStore
    conn: Connection
    account: str
    current: Installation | None

    def apply(self, change: InstallUpdate) -> Installation:
        """Write ``change`` under the lock with a version check; return the new record."""
        values: dict[str, Any] = {"updated_at": self.store.clock.now()}
        if change.tokens is not None:
            values.update(self.store._token_values(self.account, change.tokens))
        if change.clear_tokens:
            values.update(access_token=None, refresh_token=None, expires_at=None)
        for name in ("refresh_failures", "next_refresh_at", "last_refresh_at", "last_error"):
            if getattr(change, name) is not None:
                values[name] = getattr(change, name)
        if change.status is not None:
            values["status"] = change.status.value
        if change.clear_next_refresh:
            values["next_refresh_at"] = None
        if change.clear_last_error:
            values["last_error"] = None
        self.write(values, event=change.event, detail=change.detail)
        return self.record

    @property
    def record(self) -> Installation:
        """The row as last written under this lock (it exists once written)."""
        if self.current is None:
            raise ConcurrentUpdate(f"installation {self.account!r} vanished under its lock")
        return self.current

    def queue_revocation(self, token: Secret) -> int:
        """Queue ``token`` for upstream revocation in this transaction; return the entry's id."""
        return queue_revocation(
            self.conn,
            keyring=self.store.keyring,
            clock=self.store.clock,
            account=self.account,
            token=token,
        )

    def write(
        self, values: dict[str, Any], *, event: str | None, detail: str | None = None
    ) -> None:
        """Write ``values`` with a version check (or insert the row), plus a history event."""
        now = self.store.clock.now()
        before = self.current
        if before is None:
            values = {"installed_at": now, "version": 1, **values, "account": self.account}
            try:
                self.conn.execute(insert(installations).values(**values))
            except IntegrityError as exc:  # another instance inserted first
                raise ConcurrentUpdate(
                    f"installation {self.account!r} was created meanwhile"
                ) from exc
        else:
            if event in ("installed", "reinstalled"):
                values["installed_at"] = now
            result = self.conn.execute(
                update(installations)
                .where(T.account == self.account, T.version == before.version)
                .values(**values, version=before.version + 1)
            )
            if result.rowcount != 1:
                raise ConcurrentUpdate(f"installation {self.account!r} changed meanwhile")
        row = (
            self.conn.execute(select(installations).where(T.account == self.account))
            .mappings()
            .one()
        )
        self.current = self.store._to_record(row)
        if event:
            self.conn.execute(
                insert(install_events).values(
                    account=self.account,
                    at=now,
                    event=event,
                    from_status=before.status.value if before else None,
                    to_status=self.current.status.value,
                    detail=detail,
                )
            )


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
            expired = install_states.c.expires_at < self.clock.now()
            conn.execute(delete(install_states).where(expired))
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
            account=row["account"],
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
