"""How the kit builds the inbound half from its store, clients, clock and settings.

Kept out of ``kit.py`` so the composition root stays readable: :func:`build_inbound` returns
the :class:`~.service.Inbound` the kit exposes as ``kit.inbound``, subscribes its lifecycle
hooks (provision on install and reinstall, forget the keys on disconnect and uninstall) and
registers the worker's periodic jobs on the queue.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol

import httpx
from huey import crontab

from ..api.client import GorgiasClient
from ..api.objects import AccountObjects
from ..core.account import Account
from ..core.clock import Clock
from ..core.events import HookEvent
from ..core.events import Hooks
from ..core.events import LifecycleEvent
from ..core.retry import RetryPolicy
from ..core.settings import KitSettings
from ..store.ports import Ledger
from ..store.ports import StateStore
from .answers import DataAnswers
from .credentials import InboundKeys
from .credentials import KeyStore
from .events import EventRunner
from .events import EventStore
from .health import HealthStore
from .health import IntegrationRepair
from .provision import Provisioner
from .queue import EventQueue
from .queue import queue_url
from .service import Inbound


class Kit(Protocol):
    """What the wiring uses of :class:`gorgias_appkit.kit.Kit` (which sits a layer above)."""

    @property
    def settings(self) -> KitSettings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def http(self) -> httpx.Client: ...

    @property
    def hooks(self) -> Hooks: ...

    @property
    def objects(self) -> AccountObjects: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def states(self) -> StateStore: ...

    def _client(
        self, account: Account, *, priority: Any = ..., deadline: float | None = ...
    ) -> GorgiasClient: ...

    def refresh_due(self, *, within: float) -> Any: ...

    def retry_pending_revocations(self) -> Any: ...

    def purge_expired(self) -> Any: ...

    def repair_all(self) -> Any: ...


def build_inbound(
    kit: Kit, *, key_store: KeyStore, event_store: EventStore, health_store: HealthStore
) -> Inbound:
    """The kit's inbound half on the given stores, hooked into the kit's lifecycle."""
    options = kit.settings.inbound
    keys = InboundKeys(key_store, clock=kit.clock, grace=options.key_grace)
    queue = EventQueue(queue_url(kit.settings))
    inbound: Inbound

    def declared() -> object:
        return inbound.declared

    def background(account: Account) -> object:
        return kit._client(account, priority="background")

    inbound = Inbound(
        keys=keys,
        provisioner=Provisioner(
            objects=kit.objects,
            ledger=kit.ledger,
            keys=keys,
            app_url=kit.settings.app_url,
            declared=declared,  # type: ignore[arg-type]
        ),
        answers=DataAnswers(
            deadline=options.deadline,
            client_for=lambda account, deadline: kit._client(account, deadline=deadline),
        ),
        events=EventRunner(
            store=event_store,
            queue=queue,
            declared=declared,  # type: ignore[arg-type]
            client_for=background,  # type: ignore[arg-type]
            clock=kit.clock,
            max_attempts=options.max_attempts,
            policy=RetryPolicy(base=options.retry_base, cap=options.retry_cap),
            lease=options.lease,
            sweep_after=options.sweep_after,
        ),
        repair=IntegrationRepair(
            store=health_store,
            at_risk=options.at_risk,
            ledger=kit.ledger,
            objects=kit.objects,
            keys=keys,
            declared=declared,  # type: ignore[arg-type]
            client_for=background,  # type: ignore[arg-type]
            http=kit.http,
            app_url=kit.settings.app_url,
        ),
        queue=queue,
        event_store=event_store,
        health_store=health_store,
    )
    queue.handle(inbound.events.run)
    _hooks(kit, inbound)
    _jobs(kit, inbound, queue)
    return inbound


def _hooks(kit: Kit, inbound: Inbound) -> None:
    def provision(event: LifecycleEvent) -> None:
        inbound.provision(event.installation.account)

    def forget(event: LifecycleEvent) -> None:
        inbound.forget(event.installation.account)

    kit.hooks.on(HookEvent.INSTALLED, provision)
    kit.hooks.on(HookEvent.REINSTALLED, provision)
    kit.hooks.on(HookEvent.DISCONNECTED, forget)
    kit.hooks.on(HookEvent.UNINSTALLED, forget)


def _jobs(kit: Kit, inbound: Inbound, queue: EventQueue) -> None:
    """The worker's periodic jobs: what operators used to run from cron."""
    jobs = {
        "sweep": (crontab(minute="*"), inbound.events.sweep),
        "refresh-due": (crontab(minute="*/5"), lambda: kit.refresh_due(within=3600)),
        "revocations": (crontab(minute="*/5"), kit.retry_pending_revocations),
        "purge-expired": (crontab(minute="13"), kit.purge_expired),  # states, sessions, throttles
        "purge-keys": (crontab(minute="17"), inbound.keys.store.purge_retired),
        "repair-at-risk": (crontab(minute="*/10"), inbound.repair.repair_at_risk),
        "repair-all": (crontab(minute="23", hour="*/6"), lambda: kit.repair_all()),
    }
    for name, (schedule, job) in jobs.items():
        queue.every(name, schedule, job)
        inbound.jobs[name] = job
