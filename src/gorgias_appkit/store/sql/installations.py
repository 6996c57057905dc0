"""SQLInstallationStore: installations in SQL (SQLite by default, PostgreSQL for many instances).

Tokens are encrypted before they reach a statement and decrypted after they leave a row; no
plaintext token is ever bound to SQL. The per-account lock is ``SELECT … FOR UPDATE`` on
PostgreSQL and a lease written in the row on SQLite (:mod:`.row_lease`: SQLite has no row locks,
and its database-wide write lock must not be held across a token request), held for the whole
block so a refresh's HTTP call and its write happen under one lock (REL-01). Waiting for it is
bounded (:data:`LOCK_WAIT_SECONDS`, then :class:`StoreError`). Every write checks ``version``
(compare-and-swap, :mod:`.locked_row`).

A dropped PostgreSQL connection under a read or before the lock is held is survived by running
the work once more (:func:`~gorgias_appkit.store.reconnect.once_more_if_dropped`).

Reads never write. A row whose ciphertext does not open with the configured keys (a key not
configured yet, or a value moved from another row: SEC-14) comes back with ``tokens=None`` and
``unreadable`` saying why; its health and history stay as they are, so it recovers by itself
once the right key is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import Transaction
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import Installation
from ...core.records import InstallEvent
from ...core.records import InstallStatus
from ...core.records import TokenSet
from ...core.secret import Secret
from ...errors import DecryptionError
from ...errors import InvalidAccount
from ...errors import StoreError
from ..crypto import Keyring
from ..reconnect import once_more_if_dropped
from ..schema import install_events
from ..schema import install_states
from ..schema import installations
from .locked_row import LockedRow
from .row_lease import leased

T = installations.c
log = logging.getLogger("gorgias_appkit.store")
# How long a caller waits for another process's lock: SQLite's busy timeout (engine.py) and
# PostgreSQL's lock_timeout. A refresh's whole retry budget stays below it (oauth/client.py).
LOCK_WAIT_SECONDS = 30
# Built once: the fast path of access_token_for runs it on every call.
_FIND = select(installations).where(T.account == bindparam("account"))


def _context(account: str, column: str) -> str:
    return f"installation:{account}:{column}"


class SQLInstallationStore:
    """Installations in SQL, tokens sealed with a :class:`Keyring`."""

    def __init__(self, engine: Engine, *, keyring: Keyring, clock: Clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    def __repr__(self) -> str:
        return f"SQLInstallationStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- reading ---------------------------------------------------------------------------
    def find(self, account: Account) -> Installation | None:
        """Return the installation of ``account`` or ``None``; never writes."""

        def read() -> RowMapping | None:
            with self.engine.connect() as conn:
                return conn.execute(_FIND, {"account": account}).mappings().first()

        row = once_more_if_dropped(read)
        return None if row is None else self.to_record(row)

    def all(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account, reading in pages.

        A row whose account is not a valid Gorgias subdomain (tampered with) is skipped and
        logged: it can never be used, and must not stop the listing of the others.
        """
        last = ""
        while True:
            with self.engine.connect() as conn:
                query = select(installations).where(T.account > last).order_by(T.account).limit(500)
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                try:
                    yield self.to_record(row)
                except InvalidAccount:
                    log.error(
                        "skipping a row whose account is not valid: %s", ascii(row["account"])
                    )
            last = rows[-1]["account"]

    def accounts_due(self, before: datetime) -> list[Account]:
        """Return usable accounts whose access token expires before ``before``."""
        usable = [s.value for s in InstallStatus if s.usable]
        query = (
            select(T.account)
            .where(T.status.in_(usable), T.expires_at < before)
            .order_by(T.expires_at)
        )

        def read() -> list[Account]:
            with self.engine.connect() as conn:
                return [Account(a) for a in conn.execute(query).scalars()]

        return once_more_if_dropped(read)

    def history(self, account: Account, *, limit: int = 50) -> list[InstallEvent]:
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
                account=Account(r["account"]),
                at=r["at"],
                event=r["event"],
                from_status=r["from_status"],
                to_status=r["to_status"],
                detail=r["detail"],
            )
            for r in rows
        ]

    def count_by_status(self) -> dict[str, int]:
        """Return the number of installations in every health state (zeros included)."""
        counts = {status.value: 0 for status in InstallStatus}
        query = select(T.status, func.count()).group_by(T.status)
        with self.engine.connect() as conn:
            for status, number in conn.execute(query).all():
                counts[str(status)] = int(number)
        return counts

    def sealed_key_ids(self) -> dict[str, int]:
        """How many installations hold tokens sealed under each key id (for ``doctor``)."""
        kid = func.substr(T.access_token, 4, 8)
        query = select(kid, func.count()).where(T.access_token.is_not(None)).group_by(kid)
        with self.engine.connect() as conn:
            return {str(k): int(n) for k, n in conn.execute(query).all()}

    # -- writing ---------------------------------------------------------------------------
    def save_install(
        self,
        account: Account,
        *,
        tokens: TokenSet,
        user_id: str | None,
        user_email: str | None,
    ) -> tuple[Installation, bool]:
        """Store a fresh install or replace the account's previous one in one transaction."""
        with self.locked(account) as lock:
            previous = lock.current
            # After a disconnect the app tore everything down: installing again is a new install,
            # so the "installed" hook runs again.
            is_new = previous is None or previous.status is InstallStatus.UNINSTALLED
            installed = lock.install(tokens=tokens, user_id=user_id, user_email=user_email)
            return installed, is_new

    @contextmanager
    def locked(self, account: Account) -> Iterator[LockedRow]:
        """Hold the account's lock across processes for the block (REL-01).

        The block's writes commit when it ends normally and roll back if it raises.
        """
        if not self._postgres:
            with leased(self, account, wait=LOCK_WAIT_SECONDS) as leased_row:
                yield leased_row
            return
        conn, transaction, row = once_more_if_dropped(lambda: self._lock_row(account))
        with conn, transaction:
            record = self.to_record(row) if row else None
            yield LockedRow(self, lambda: conn, account, record)

    def _lock_row(self, account: str) -> tuple[Connection, Transaction, RowMapping | None]:
        """Begin a transaction holding ``SELECT … FOR UPDATE`` on the row (PostgreSQL)."""
        conn = self.engine.connect()
        try:
            transaction = conn.begin()
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
            query = select(installations).where(T.account == account).with_for_update()
            row = conn.execute(query).mappings().first()
        except OperationalError as exc:
            conn.close()
            if exc.connection_invalidated:
                raise  # a dropped connection: the caller tries once more
            raise StoreError(f"could not lock installation {account!r} in time") from exc
        except BaseException:
            conn.close()
            raise
        return conn, transaction, row

    def delete(self, account: Account) -> bool:
        """Forget every stored trace of ``account`` (tokens, history); return whether it existed."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(installations).where(T.account == account)).rowcount
            conn.execute(delete(install_events).where(install_events.c.account == account))
            conn.execute(delete(install_states).where(install_states.c.account == account))
        return bool(gone)

    # -- mapping ---------------------------------------------------------------------------
    def token_values(self, account: str, tokens: TokenSet) -> dict[str, Any]:
        """The sealed columns of ``tokens`` for ``account``'s row."""
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

    def to_record(self, row: RowMapping) -> Installation:
        """The record of a row read back (the account re-validated, the tokens opened)."""
        account = Account(row["account"])  # re-validated on every read (SEC-01)
        tokens, unreadable = None, None
        if row["access_token"]:
            try:
                tokens = self._open(account, row)
            except DecryptionError as exc:  # SEC-14: never used, never a write, never a 500
                unreadable = str(exc)
        return Installation(
            account=account,
            status=InstallStatus(row["status"]),
            tokens=tokens,
            version=row["version"],
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
            user_id=row["user_id"],
            user_email=row["user_email"],
            last_refresh_at=row["last_refresh_at"],
            refresh_failures=row["refresh_failures"],
            next_refresh_at=row["next_refresh_at"],
            last_error=row["last_error"],
            unreadable=unreadable,
        )

    def _open(self, account: Account, row: RowMapping) -> TokenSet:
        open_ = self.keyring.decrypt
        refresh = row["refresh_token"]
        return TokenSet(
            access_token=Secret(open_(row["access_token"], context=_context(account, "access"))),
            refresh_token=Secret(open_(refresh, context=_context(account, "refresh")))
            if refresh
            else None,
            expires_at=row["expires_at"],
            scopes=tuple(row["scopes"].split()),
            token_type=row["token_type"] or "Bearer",
        )
