"""SQLInstallationStore: installations in SQL (SQLite by default, PostgreSQL for many instances).

Tokens are encrypted before they reach a statement and decrypted after they leave a row; no
plaintext token is ever bound to SQL. The per-account lock is ``SELECT … FOR UPDATE`` on
PostgreSQL and ``BEGIN IMMEDIATE`` on SQLite, held for the whole block so a refresh's HTTP call
and its write happen under one lock (REL-01). Waiting for it is bounded (:data:`LOCK_WAIT_SECONDS`,
then :class:`StoreError`). Every write checks ``version`` (compare-and-swap) and builds the new
record from what it wrote, without reading the row back.

Reads never write. A row whose ciphertext does not open with the configured keys (a key not
configured yet, or a value moved from another row: SEC-14) comes back with ``tokens=None`` and
``unreadable`` saying why; its health and history stay as they are, so it recovers by itself
once the right key is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import RowMapping
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from ...core.account import Account
from ...core.clock import Clock
from ...core.records import Installation
from ...core.records import InstallEvent
from ...core.records import InstallStatus
from ...core.records import InstallUpdate
from ...core.records import TokenSet
from ...core.secret import Secret
from ...errors import ConcurrentUpdate
from ...errors import DecryptionError
from ...errors import InvalidAccount
from ...errors import StoreError
from ..crypto import Keyring
from ..engine import WRITE_LOCK
from ..schema import install_events
from ..schema import install_states
from ..schema import installations
from .revocations import queue_revocation

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

    def __repr__(self) -> str:
        return f"SQLInstallationStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- reading ---------------------------------------------------------------------------
    def find(self, account: Account) -> Installation | None:
        """Return the installation of ``account`` or ``None``; never writes."""
        with self.engine.connect() as conn:
            row = conn.execute(_FIND, {"account": account}).mappings().first()
        return None if row is None else self._to_record(row)

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
                    yield self._to_record(row)
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
        with self.engine.connect() as conn:
            return [Account(a) for a in conn.execute(query).scalars()]

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

    def _to_record(self, row: RowMapping) -> Installation:
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


@dataclass
class LockedRow:
    """One installation row while its lock is held (see :meth:`SQLInstallationStore.locked`)."""

    store: SQLInstallationStore
    conn: Connection
    account: Account
    current: Installation | None

    def apply(self, change: InstallUpdate) -> Installation:
        """Write ``change`` under the lock with a version check; return the new record."""
        before = self.current
        if before is None:
            raise ConcurrentUpdate(f"installation {self.account!r} vanished under its lock")
        now = self.store.clock.now()
        values, fields = self._values(change, now)
        result = self.conn.execute(
            update(installations)
            .where(T.account == self.account, T.version == before.version)
            .values(**values, version=before.version + 1)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"installation {self.account!r} changed meanwhile")
        self.current = replace(before, **fields, version=before.version + 1, updated_at=now)
        self._history(change.event, change.detail, before.status, now)
        return self.current

    def install(
        self, *, tokens: TokenSet, user_id: str | None, user_email: str | None
    ) -> Installation:
        """Write a fresh install (insert, or replace the previous one); return the record."""
        before, now = self.current, self.store.clock.now()
        values = {
            **self.store.token_values(self.account, tokens),
            "status": InstallStatus.ACTIVE.value,
            "user_id": user_id,
            "user_email": user_email,
            "refresh_failures": 0,
            "next_refresh_at": None,
            "last_error": None,
            "installed_at": now,
            "updated_at": now,
        }
        version = 1 if before is None else before.version + 1
        if before is None:
            try:
                self.conn.execute(
                    insert(installations).values(**values, version=1, account=self.account)
                )
            except IntegrityError as exc:  # another instance inserted first
                raise ConcurrentUpdate(
                    f"installation {self.account!r} was created meanwhile"
                ) from exc
        elif (
            self.conn.execute(
                update(installations)
                .where(T.account == self.account, T.version == before.version)
                .values(**values, version=version)
            ).rowcount
            != 1
        ):
            raise ConcurrentUpdate(f"installation {self.account!r} changed meanwhile")
        self.current = Installation(
            account=self.account,
            status=InstallStatus.ACTIVE,
            tokens=tokens,
            version=version,
            installed_at=now,
            updated_at=now,
            user_id=user_id,
            user_email=user_email,
            last_refresh_at=before.last_refresh_at if before else None,
        )
        is_new = before is None or before.status is InstallStatus.UNINSTALLED
        previous = before.status if before else None
        self._history("installed" if is_new else "reinstalled", None, previous, now)
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

    def _values(
        self, change: InstallUpdate, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The columns to write and the record fields they change."""
        values: dict[str, Any] = {"updated_at": now}
        fields: dict[str, Any] = {}
        if change.tokens is not None:
            values.update(self.store.token_values(self.account, change.tokens))
            fields.update(tokens=change.tokens, unreadable=None)
        if change.clear_tokens:
            values.update(access_token=None, refresh_token=None, expires_at=None)
            fields.update(tokens=None, unreadable=None)
        for name in ("refresh_failures", "next_refresh_at", "last_refresh_at", "last_error"):
            if getattr(change, name) is not None:
                values[name] = fields[name] = getattr(change, name)
        if change.status is not None:
            values["status"], fields["status"] = change.status.value, change.status
        if change.clear_next_refresh:
            values["next_refresh_at"] = fields["next_refresh_at"] = None
        if change.clear_last_error:
            values["last_error"] = fields["last_error"] = None
        return values, fields

    def _history(
        self, event: str | None, detail: str | None, before: InstallStatus | None, now: datetime
    ) -> None:
        if not event or self.current is None:
            return
        self.conn.execute(
            insert(install_events).values(
                account=self.account,
                at=now,
                event=event,
                from_status=before.value if before else None,
                to_status=self.current.status.value,
                detail=detail,
            )
        )
