"""Objects the app creates in a merchant's account, tracked so that disconnect leaves nothing.

Gorgias sends no uninstall notice and removes nothing itself: an app that creates an HTTP
integration and a sidebar widget on install must delete them while its token still works.
:class:`AccountObjects` creates through the API client and writes a ledger row right after each
successful create; :meth:`AccountObjects.remove_all` deletes the live rows, widgets first, newest
first (a widget before the integration it shows), marks each one deleted as it goes, and stops
at the first API error with :class:`CleanupIncomplete`, so the next call resumes with what is left.

A ledger ``kind`` is the object's API collection (``"integrations"``, ``"widgets"``, ``"rules"``):
any process can remove any object without knowing the code that created it. No Flask here.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.account import Account
from ..core.records import LedgerEntry
from ..errors import ApiError
from ..errors import CleanupIncomplete
from ..errors import NotFound
from ..store.ports import Ledger
from .client import GorgiasClient

log = logging.getLogger("gorgias_appkit.lifecycle")

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupReport:
    """What a clean-up did: objects deleted, and objects that were already gone (404)."""

    account: str
    removed: int = 0
    already_gone: int = 0


class AccountObjects:
    """Create, re-create idempotently, and remove the app's objects in an account."""

    def __init__(self, *, ledger: Ledger, client_for: Callable[[Account], GorgiasClient]) -> None:
        self.ledger = ledger
        self.client_for = client_for

    def __repr__(self) -> str:
        return f"AccountObjects(ledger={self.ledger!r})"

    def create(
        self, account: str, kind: str, payload: Mapping[str, Any], *, name: str | None = None
    ) -> dict[str, Any]:
        """POST ``payload`` to ``/api/{kind}`` and record the new object in the ledger."""
        return self._create(Account(account), kind, payload, name=name)

    def _create(
        self, account: Account, kind: str, payload: Mapping[str, Any], *, name: str | None
    ) -> dict[str, Any]:
        created = self.client_for(account).post(f"/{_checked(kind)}", json=payload)
        remote_id = created.get("id")
        if not isinstance(remote_id, int | str) or isinstance(remote_id, bool) or remote_id == "":
            raise ApiError(f"the created {kind} has no id", account=account, status_code=201)
        self.ledger.record(account, kind=kind, remote_id=str(remote_id), name=name)
        log.info(
            "created %s %s", kind, remote_id, extra={"account": account, "event": "object_created"}
        )
        return created

    def ensure(
        self, account: str, kind: str, payload: Mapping[str, Any], *, name: str
    ) -> dict[str, Any]:
        """Make the object the app calls ``name`` exist with ``payload``; never a duplicate.

        On reinstall the recorded object is updated in place (PUT); if the merchant deleted it
        meanwhile (404), it is created again and the ledger follows.
        """
        target = Account(account)
        entry = self.ledger.find(target, kind=_checked(kind), name=name)
        if entry is not None:
            try:
                return self.client_for(target).put(f"/{kind}/{entry.remote_id}", json=payload)
            except NotFound:
                self.ledger.mark_deleted(target, kind=kind, remote_id=entry.remote_id)
        return self._create(target, kind, payload, name=name)

    def live(self, account: str) -> list[LedgerEntry]:
        """Objects the app created in ``account`` that still exist, newest first."""
        return self.ledger.live(Account(account))

    def remove(self, account: str, *, kind: str, remote_id: str) -> None:
        """Delete one recorded object (a 404 counts as removed) and mark its row deleted."""
        target = Account(account)
        with contextlib.suppress(NotFound):  # already gone: just as good
            self.client_for(target).delete(f"/{_checked(kind)}/{remote_id}")
        self.ledger.mark_deleted(target, kind=kind, remote_id=remote_id)
        log.info(
            "removed %s %s", kind, remote_id, extra={"account": target, "event": "object_removed"}
        )

    def remove_all(self, account: str) -> CleanupReport:
        """Delete every live object of ``account``; a 404 counts as removed.

        Raises:
            CleanupIncomplete: an API call failed; the objects not yet removed stay recorded.
            InstallationUnavailable: the token no longer works (the merchant must reconnect).
        """
        return self._remove_all(Account(account))

    def _remove_all(self, account: Account) -> CleanupReport:
        # Newest first, and every widget before any integration: a widget may show an
        # integration created after it (re-created because the merchant deleted it).
        entries = sorted(self.ledger.live(account), key=lambda e: e.kind != "widgets")
        if not entries:
            return CleanupReport(account=account)
        client = self.client_for(account)
        removed = gone = 0
        for done, entry in enumerate(entries):
            try:
                client.delete(f"/{_checked(entry.kind)}/{entry.remote_id}")
                removed += 1
            except NotFound:
                gone += 1
            except ApiError as exc:
                left = len(entries) - done
                log.warning(
                    "clean-up stopped at %s %s (%s), %d left",
                    entry.kind,
                    entry.remote_id,
                    type(exc).__name__,
                    left,
                    extra={"account": account, "event": "cleanup_incomplete"},
                )
                raise CleanupIncomplete(
                    account, remaining=left, status_code=exc.status_code
                ) from exc
            self.ledger.mark_deleted(account, kind=entry.kind, remote_id=entry.remote_id)
            log.info(
                "removed %s %s",
                entry.kind,
                entry.remote_id,
                extra={"account": account, "event": "object_removed"},
            )
        return CleanupReport(account=account, removed=removed, already_gone=gone)


def _checked(kind: str) -> str:
    if not _KIND.match(kind):
        raise ValueError(f"kind must be an API collection name such as 'widgets', got {kind!r}")
    return kind
