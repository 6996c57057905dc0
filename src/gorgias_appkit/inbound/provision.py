"""Make an account's Gorgias objects match the declarations: create, update, delete.

Every object goes through :class:`~gorgias_appkit.api.objects.AccountObjects`, so the ledger
records it under a name the kit owns (``integration:<name>[:<trigger>]``, ``widget:<name>``)
and disconnect removes it (widgets first). ``sync`` is idempotent: it PUTs the current payload
onto each recorded object (re-creating one the merchant deleted), creates what is new, and
deletes what the app no longer declares, so a reinstall and a new app version
(``gorgias-appkit installs sync``) both converge on the declarations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..api.objects import AccountObjects
from ..core.account import Account
from ..core.secret import Secret
from ..store.ports import Ledger
from .credentials import InboundKeys
from .declarations import Integrations
from .declarations import Widget
from .payloads import integration_payload
from .payloads import plan
from .payloads import widget_payload

log = logging.getLogger("gorgias_appkit.inbound")
OWNED_PREFIXES = ("integration:", "widget:")


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What one sync did in one account."""

    account: Account
    ensured: int
    removed: int


class Provisioner:
    """Creates, updates and removes the declared objects in one account at a time."""

    def __init__(
        self,
        *,
        objects: AccountObjects,
        ledger: Ledger,
        keys: InboundKeys,
        app_url: str,
        declared: Callable[[], Integrations],
    ) -> None:
        self.objects = objects
        self.ledger = ledger
        self.keys = keys
        self.app_url = app_url
        self.declared = declared

    def __repr__(self) -> str:
        return f"Provisioner(app_url={self.app_url!r})"

    def sync(self, account: Account, *, key: Secret | None = None) -> SyncReport:
        """Make ``account``'s objects match the declarations (issuing a key if it has none)."""
        key = key or self.keys.current(account) or self.keys.issue(account)
        planned = plan(self.declared())
        ids: dict[str, object] = {}
        for item in planned:
            if isinstance(item.declaration, Widget):
                target = ids.get(item.declaration.integration)
                payload = widget_payload(item.declaration, integration_id=target)
            else:
                payload = integration_payload(item, account=account, app_url=self.app_url, key=key)
            created = self.objects.ensure(account, item.kind, payload, name=item.ledger_name)
            if item.trigger is None and not isinstance(item.declaration, Widget):
                ids[item.declaration.name] = created.get("id")
        removed = self._remove_undeclared(account, {p.ledger_name for p in planned})
        log.info(
            "synced %d object(s), removed %d",
            len(planned),
            removed,
            extra={"account": account, "event": "inbound_synced"},
        )
        return SyncReport(account=account, ensured=len(planned), removed=removed)

    def _remove_undeclared(self, account: Account, wanted: set[str]) -> int:
        stale = [
            e
            for e in self.ledger.live(account)
            if e.name and e.name.startswith(OWNED_PREFIXES) and e.name not in wanted
        ]
        stale.sort(key=lambda e: e.kind != "widgets")  # a widget before what it shows
        for entry in stale:
            self.objects.remove(account, kind=entry.kind, remote_id=entry.remote_id)
        return len(stale)
