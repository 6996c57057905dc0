"""The 100-failure rule: count failed answers, show "at risk", reactivate what Gorgias disabled.

Gorgias deactivates an HTTP integration after 100 failed calls in a row (and emails the
merchant). Every answer the app gives an integration is counted (``answered``): a failure adds
one, a success resets the count, across every process. At ``GORGIAS_INBOUND_AT_RISK`` failures
in a row the integration shows as *at risk* (operator pages, ``installs show``, a log line),
well before Gorgias gives up.

Failures that never reach the app (it was down, its URL broke) are invisible to that count, so
:meth:`IntegrationRepair.repair` also asks Gorgias: an integration Gorgias deactivated is
reactivated (``PUT`` with ``"deactivated_datetime": null``) once the app answers again, which a
*probe* shows: the worker calls the integration's public URL with the account's key, as
Gorgias would, and the app answers 2xx JSON without running the handler. An integration still
active whose calls carry a key the app refuses (a key push that failed) gets the current key
pushed the same way. The periodic job checks the integrations at risk; ``installs repair``
checks every one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Protocol

import httpx

from ..api.client import GorgiasClient
from ..api.objects import AccountObjects
from ..core.account import Account
from ..core.inbound_records import IntegrationHealth
from ..errors import ApiError
from ..errors import NotFound
from ..store.ports import Ledger
from .credentials import InboundKeys
from .declarations import Integrations
from .payloads import KEY_HEADER
from .payloads import Planned
from .payloads import integration_path
from .payloads import integration_payload
from .payloads import plan

log = logging.getLogger("gorgias_appkit.inbound")
PROBE_HEADER = "X-Appkit-Probe"


class HealthStore(Protocol):
    """What the health service needs from ``store/sql/inbound_health.py``."""

    def success(self, account: Account, integration: str) -> None: ...

    def failure(self, account: Account, integration: str, *, error: str) -> int: ...

    def seen_at_gorgias(
        self, account: Account, integration: str, *, deactivated_at: datetime | None
    ) -> None: ...

    def repaired(self, account: Account, integration: str) -> None: ...

    def of(self, account: Account) -> list[IntegrationHealth]: ...

    def at_risk(self, threshold: int) -> list[IntegrationHealth]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairResult:
    """What the repair found for one integration: active, reactivated, still_failing, missing."""

    account: Account
    integration: str
    outcome: str


class IntegrationRepair:
    """Counts answers and reactivates integrations Gorgias deactivated."""

    def __init__(
        self,
        *,
        store: HealthStore,
        at_risk: int,
        ledger: Ledger,
        objects: AccountObjects,
        keys: InboundKeys,
        declared: Callable[[], Integrations],
        client_for: Callable[[Account], GorgiasClient],
        http: httpx.Client,
        app_url: str,
    ) -> None:
        self.store = store
        self.threshold = at_risk
        self.ledger = ledger
        self.objects = objects
        self.keys = keys
        self.declared = declared
        self.client_for = client_for
        self.http = http
        self.app_url = app_url

    def __repr__(self) -> str:
        return f"IntegrationRepair(at_risk={self.threshold})"

    def answered(self, account: Account, integration: str, *, error: str | None) -> None:
        """Count one answer to Gorgias (``error`` ``None``: a success)."""
        if error is None:
            self.store.success(account, integration)
            return
        failures = self.store.failure(account, integration, error=error)
        if failures == self.threshold or failures % 25 == 0:
            log.warning(
                "integration %s failed %d times in a row: Gorgias deactivates it at 100",
                integration,
                failures,
                extra={"account": account, "event": "integration_at_risk"},
            )

    def of(self, account: Account) -> list[IntegrationHealth]:
        """The health of every integration of ``account`` that answered at least once."""
        return self.store.of(account)

    def at_risk(self) -> list[IntegrationHealth]:
        """Integrations at risk (or deactivated) across every account."""
        return self.store.at_risk(self.threshold)

    def repair(self, account: Account, *, only: set[str] | None = None) -> list[RepairResult]:
        """Check ``account``'s integrations at Gorgias and reactivate the deactivated ones."""
        planned = {p.ledger_name: p for p in plan(self.declared()) if p.kind == "integrations"}
        client = self.client_for(account)
        refused = {h.integration for h in self.store.of(account) if _key_refused(h)}
        results = []
        for entry in self.ledger.live(account):
            item = planned.get(entry.name or "")
            if entry.kind != "integrations" or item is None:
                continue
            name = item.ledger_name.removeprefix("integration:")
            if only is not None and name not in only:
                continue
            outcome = self._check(client, account, entry.remote_id, name, item, name in refused)
            results.append(RepairResult(account=account, integration=name, outcome=outcome))
        return results

    def repair_at_risk(self) -> list[RepairResult]:
        """The periodic job: check every integration at risk, account by account."""
        wanted: dict[Account, set[str]] = {}
        for health in self.at_risk():
            wanted.setdefault(health.account, set()).add(health.integration)
        results = []
        for account, names in wanted.items():
            try:
                results += self.repair(account, only=names)
            except ApiError as exc:  # one account's trouble never stops the others
                log.warning(
                    "repair of %s failed: %s",
                    account,
                    type(exc).__name__,
                    extra={"account": account, "event": "repair_failed"},
                )
        return results

    def _check(
        self,
        client: GorgiasClient,
        account: Account,
        remote_id: str,
        name: str,
        item: Planned,
        key_refused: bool,
    ) -> str:
        try:
            current = client.get(f"/integrations/{remote_id}")
        except NotFound:
            return "missing"  # `installs sync` creates it again
        deactivated = _when(current.get("deactivated_datetime"))
        self.store.seen_at_gorgias(account, name, deactivated_at=deactivated)
        if deactivated is None and not key_refused:
            return "active"
        if not self.probe(account, item):
            return "still_failing"
        # Still active but sending a key the app refuses (a push that failed): push it now.
        key = self.keys.current(account) or self.keys.issue(account)
        payload = integration_payload(item, account=account, app_url=self.app_url, key=key)
        client.put(f"/integrations/{remote_id}", json={**payload, "deactivated_datetime": None})
        self.store.repaired(account, name)
        outcome = "reactivated" if deactivated is not None else "key_pushed"
        log.info(
            "integration %s %s",
            name,
            outcome.replace("_", " "),
            extra={"account": account, "event": f"integration_{outcome}"},
        )
        return outcome

    def probe(self, account: Account, item: Planned) -> bool:
        """Call the integration's public URL as Gorgias would; whether it answers 2xx JSON."""
        key = self.keys.current(account)
        declared = item.declaration
        if key is None:
            return False
        url = self.app_url + integration_path(account, declared.name, item.trigger)
        headers = {KEY_HEADER: key.reveal(), PROBE_HEADER: "1"}
        try:
            answer = self.http.post(url, headers=headers, json={}, timeout=10.0)
            answer.json()
        except (httpx.HTTPError, ValueError):
            return False
        return 200 <= answer.status_code < 300


def _key_refused(health: IntegrationHealth) -> bool:
    """Whether Gorgias' latest calls carried a key the app no longer accepts."""
    return health.consecutive_failures > 0 and (health.last_error or "").startswith("key refused")


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)  # deactivated, at a time we cannot read
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
