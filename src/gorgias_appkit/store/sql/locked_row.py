"""LockedRow: an installation row while its lock is held; every write is version-checked.

Shared by both locking schemes of :class:`~.installations.SQLInstallationStore`: PostgreSQL's
``SELECT … FOR UPDATE`` transaction and SQLite's row lease (:mod:`.row_lease`). Each write
checks ``version`` (compare-and-swap) and builds the new record from what it wrote, without
reading the row back; history lines are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ...core.account import Account
from ...core.records import Installation
from ...core.records import InstallStatus
from ...core.records import InstallUpdate
from ...core.records import TokenSet
from ...core.secret import Secret
from ...errors import ConcurrentUpdate
from ..schema import install_events
from ..schema import installations
from .revocations import queue_revocation

if TYPE_CHECKING:
    from .installations import SQLInstallationStore

T = installations.c


@dataclass
class LockedRow:
    """One installation row while its lock is held (see :meth:`SQLInstallationStore.locked`).

    ``writer`` gives the connection whose transaction the writes join: on PostgreSQL the one
    holding ``FOR UPDATE``; on SQLite a write transaction begun at the first write (the row
    lease, :mod:`.row_lease`). ``guard`` adds conditions every write must meet (on SQLite: this
    holder still owns the lease), checked with the version in one statement.
    """

    store: SQLInstallationStore
    writer: Callable[[], Connection]
    account: Account
    current: Installation | None
    guard: tuple[ColumnElement[bool], ...] = ()

    @property
    def conn(self) -> Connection:
        """The connection in the write transaction (begun now, if this is the first write)."""
        return self.writer()

    def apply(self, change: InstallUpdate) -> Installation:
        """Write ``change`` under the lock with a version check; return the new record."""
        before = self.current
        if before is None:
            raise ConcurrentUpdate(f"installation {self.account!r} vanished under its lock")
        now = self.store.clock.now()
        values, fields = self._values(change, now)
        result = self.conn.execute(
            update(installations)
            .where(T.account == self.account, T.version == before.version, *self.guard)
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
                .where(T.account == self.account, T.version == before.version, *self.guard)
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
