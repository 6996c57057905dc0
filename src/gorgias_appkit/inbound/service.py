"""Inbound: the one object the kit, the views and the worker use for Gorgias calling the app.

It holds the app's declarations and wires the parts (keys, provisioning, data answers, event
runner, queue, health) to the kit's store, API clients and clock. The views call
:meth:`Inbound.authenticate`, :meth:`Inbound.answer` and :meth:`Inbound.receive`; the kit's
lifecycle hooks call :meth:`Inbound.provision` and :meth:`Inbound.forget`; the worker runs the
queue and :meth:`Inbound.periodic_jobs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.account import Account
from ..core.inbound_records import EventStatus
from ..core.inbound_records import InboundEvent
from ..core.inbound_records import Recorded
from ..errors import ConfigError
from .answers import Answer
from .answers import DataAnswers
from .credentials import InboundKeys
from .declarations import DataIntegration
from .declarations import EventIntegration
from .declarations import Integrations
from .declarations import canonical_trigger
from .events import EventRunner
from .health import IntegrationRepair
from .provision import Provisioner
from .provision import SyncReport
from .queue import EventQueue

log = logging.getLogger("gorgias_appkit.inbound")


@dataclass(frozen=True, slots=True)
class Target:
    """What a call's URL names: a declared integration, and the trigger for an event one."""

    integration: DataIntegration | EventIntegration
    trigger: str | None

    @property
    def health_name(self) -> str:
        """The name its answers are counted under (one Gorgias integration)."""
        name = self.integration.name
        return f"{name}:{self.trigger}" if self.trigger else name


class Inbound:
    """The inbound half, composed by :class:`~gorgias_appkit.kit.Kit`."""

    def __init__(
        self,
        *,
        keys: InboundKeys,
        provisioner: Provisioner,
        answers: DataAnswers,
        events: EventRunner,
        repair: IntegrationRepair,
        queue: EventQueue,
        event_store: Any,
        health_store: Any,
    ) -> None:
        self.declared = Integrations()
        self.keys = keys
        self.provisioner = provisioner
        self.answers = answers
        self.events = events
        self.repair = repair
        self.queue = queue
        self.event_store = event_store
        self.health_store = health_store
        self.jobs: dict[str, Callable[[], object]] = {}

    def __repr__(self) -> str:
        return f"Inbound(declared={self.declared!r})"

    # -- declarations ----------------------------------------------------------------------
    def declare(self, declared: Integrations) -> None:
        """Use ``declared``; raise one :class:`ConfigError` listing every problem (start-up)."""
        problems = declared.problems()
        if problems:
            raise ConfigError(problems)
        self.declared = declared

    def target(self, name: str, trigger: str | None) -> Target | None:
        """The declared integration a call's URL names, or ``None``."""
        if trigger is None:
            data = self.declared.data.get(name)
            return Target(data, None) if data else None
        event = self.declared.events.get(name)
        canonical = canonical_trigger(trigger)
        if event is None or canonical is None:
            return None
        declared = {canonical_trigger(t) for t in event.triggers}
        return Target(event, canonical) if canonical in declared else None

    # -- lifecycle -------------------------------------------------------------------------
    def provision(self, account: Account) -> SyncReport | None:
        """On (re)install: a fresh key (old ones stop working) and the declared objects."""
        if not self.declared:
            return None
        key = self.keys.issue(account)
        return self.provisioner.sync(account, key=key)

    def sync(self, account: Account) -> SyncReport:
        """Bring ``account``'s objects in line with the declarations (a new app version)."""
        return self.provisioner.sync(account)

    def rotate_key(self, account: Account) -> SyncReport:
        """A new key pushed to Gorgias; the old one works for the grace period meanwhile."""
        report = self.provisioner.sync(account, key=self.keys.rotate(account))
        log.info("inbound key rotated", extra={"account": account, "event": "key_rotated"})
        return report

    def forget(self, account: Account) -> None:
        """Disconnect or uninstall: calls for ``account`` are refused from now on."""
        self.keys.forget(account)

    # -- calls from Gorgias ----------------------------------------------------------------
    def authenticate(self, account: Account, presented: str | None) -> bool:
        """Whether the call carries a key ``account`` accepts now."""
        return self.keys.verify(account, presented)

    def answered(self, account: Account, target: Target, *, error: str | None) -> None:
        """Count one answer given to Gorgias (the 100-failure rule)."""
        self.repair.answered(account, target.health_name, error=error)

    def answer(self, account: Account, target: Target, fields: Mapping[str, Any]) -> Answer:
        """A data integration's answer, within the deadline."""
        assert isinstance(target.integration, DataIntegration)  # noqa: S101 - the view checks
        answer = self.answers.answer(target.integration, account, fields)
        self.answered(account, target, error=answer.error)
        return answer

    def receive(self, account: Account, target: Target, body: dict[str, Any]) -> Recorded:
        """Record an event (once) and queue it; the view answers 200 right after."""
        assert target.trigger is not None  # noqa: S101 - the view checks
        recorded = self.events.receive(account, target.integration.name, target.trigger, body)
        self.answered(account, target, error=None)
        return recorded

    # -- the worker and the operator -------------------------------------------------------
    def latest_events(
        self, account: str | None = None, *, status: EventStatus | None = None, limit: int = 50
    ) -> list[InboundEvent]:
        """The newest events first (optionally of one account, or only dead letters)."""
        owner = Account(account) if account is not None else None
        result: list[InboundEvent] = self.event_store.latest(
            account=owner, status=status, limit=limit
        )
        return result

    def replay(self, event_id: int) -> bool:
        """Replay a dead letter (the operator's button)."""
        return self.events.replay(event_id)

    def close(self) -> None:
        """Release the thread pool and the queue's connections."""
        self.answers.close()
        self.queue.close()
