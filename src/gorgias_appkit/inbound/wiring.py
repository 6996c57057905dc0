"""How the kit builds the inbound half from its store, clients, clock and settings.

Kept out of ``kit.py`` so the composition root stays readable: :func:`build_inbound` returns
the :class:`~.service.Inbound` the kit exposes as ``kit.inbound``, subscribes its lifecycle
hooks (provision on install and reinstall, forget the keys on disconnect and uninstall) and
registers the worker's periodic jobs on the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from huey import crontab

from ..core.account import Account
from ..core.events import HookEvent
from ..core.events import LifecycleEvent
from ..core.retry import RetryPolicy
from ..store.crypto import Keyring
from ..store.sql.inbound_events import SQLInboundEvents
from ..store.sql.inbound_health import SQLInboundHealth
from ..store.sql.inbound_keys import SQLInboundKeys
from .answers import DataAnswers
from .credentials import InboundKeys
from .events import EventRunner
from .health import IntegrationRepair
from .provision import Provisioner
from .queue import EventQueue
from .queue import queue_url
from .service import Inbound

if TYPE_CHECKING:
    from ..kit import Kit


def build_inbound(kit: Kit, *, keyring: Keyring) -> Inbound:
    """The kit's inbound half, hooked into its lifecycle."""
    options = kit.settings.inbound
    keys = InboundKeys(
        SQLInboundKeys(kit.engine, keyring=keyring, clock=kit.clock),
        clock=kit.clock,
        grace=options.key_grace,
    )
    queue = EventQueue(queue_url(kit.settings))
    event_store = SQLInboundEvents(kit.engine, clock=kit.clock)
    health_store = SQLInboundHealth(kit.engine, clock=kit.clock)
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
        "purge-states": (crontab(minute="13"), kit.states.purge_expired),
        "purge-keys": (crontab(minute="17"), inbound.keys.store.purge_retired),
        "repair-at-risk": (crontab(minute="*/10"), inbound.repair.repair_at_risk),
        "repair-all": (crontab(minute="23", hour="*/6"), lambda: kit.repair_all()),
    }
    for name, (schedule, job) in jobs.items():
        queue.every(name, schedule, job)
        inbound.jobs[name] = job
