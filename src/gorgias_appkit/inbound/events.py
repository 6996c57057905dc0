"""Event handlers: record the delivery durably (once), answer at once, run the handler later.

``receive`` records the event (a Gorgias retry of the same event only adds to its
``deliveries``, see :func:`.payloads.dedupe_key`) and puts its id on the queue; the web view
answers 200 right after. A worker's ``run`` claims the event (one run at a time, whatever the
queue delivers twice), runs the handler, and either marks it done or schedules the next
attempt with backoff; after ``GORGIAS_EVENT_MAX_ATTEMPTS`` failures it is a dead letter, which
the operator pages list and can replay. ``sweep`` (periodic) enqueues every open event nobody
took in time (queue down, worker killed mid-run), so the event table alone decides what runs.

A handler may therefore run twice for one event in one case only: its worker died after the
handler's side effects and before the event was marked done (the lease ran out). Handlers
that must not repeat an effect can check ``event.attempts``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from typing import Protocol

from ..api.client import GorgiasClient
from ..core.account import Account
from ..core.clock import Clock
from ..core.inbound_records import EventStatus
from ..core.inbound_records import InboundEvent
from ..core.inbound_records import Recorded
from ..core.retry import RetryPolicy
from ..core.secret import SCRUBBER
from ..metrics import METRICS
from .declarations import EventCall
from .declarations import Integrations
from .payloads import dedupe_key
from .queue import EventQueue

log = logging.getLogger("gorgias_appkit.events")


class EventStore(Protocol):
    """What the runner needs from ``store/sql/inbound_events.py``."""

    def record(
        self,
        account: Account,
        *,
        integration: str,
        trigger: str,
        dedupe_key: str,
        ticket_id: str | None,
        payload: dict[str, Any],
    ) -> Recorded: ...

    def claim(self, event_id: int, *, lease: float) -> InboundEvent | None: ...

    def finish(self, event: InboundEvent) -> bool: ...

    def fail(self, event: InboundEvent, *, error: str, retry_at: Any) -> bool: ...

    def replay(self, event_id: int) -> bool: ...

    def stranded(self, *, older_than: float, limit: int = 1000) -> list[int]: ...


class EventRunner:
    """Receives events, runs their handlers from the queue, retries, dead-letters, replays."""

    def __init__(
        self,
        *,
        store: EventStore,
        queue: EventQueue,
        declared: Callable[[], Integrations],
        client_for: Callable[[Account], GorgiasClient],
        clock: Clock,
        max_attempts: int,
        policy: RetryPolicy,
        lease: float,
        sweep_after: float,
    ) -> None:
        self.store = store
        self.queue = queue
        self.declared = declared
        self.client_for = client_for
        self.clock = clock
        self.max_attempts = max_attempts
        self.policy = policy
        self.lease = lease
        self.sweep_after = sweep_after

    def __repr__(self) -> str:
        return f"EventRunner(queue={self.queue!r}, max_attempts={self.max_attempts})"

    def receive(
        self, account: Account, integration: str, trigger: str, body: dict[str, Any]
    ) -> Recorded:
        """Record one delivery and enqueue it if it is a new event."""
        recorded = self.store.record(
            account,
            integration=integration,
            trigger=trigger,
            dedupe_key=dedupe_key(account, integration, trigger, body),
            ticket_id=str(body["ticket_id"])[:32] if body.get("ticket_id") else None,
            payload=body,
        )
        METRICS.inc("gorgias_inbound_events_total", trigger=trigger, new=str(recorded.is_new))
        if recorded.is_new:
            self.queue.enqueue(recorded.event.id)
        else:
            log.info(
                "event %d delivered again (%d deliveries): not run again",
                recorded.event.id,
                recorded.event.deliveries,
                extra={"account": account, "event": "event_duplicate"},
            )
        return recorded

    def run(self, event_id: int) -> EventStatus | None:
        """Run one event's handler if it is due and free; return its new state (or ``None``)."""
        event = self.store.claim(event_id, lease=self.lease)
        if event is None:
            return None  # done, not due yet, or held by another worker
        declared = self.declared().events.get(event.integration)
        try:
            if declared is None:
                raise LookupError(f"no event handler is declared for {event.integration!r}")
            declared.handler(EventCall(event=event, client_for=self.client_for))
        except Exception as exc:  # partner code: contain it, retry it, never lose the event
            return self._failed(event, exc)
        self.store.finish(event)
        METRICS.inc("gorgias_inbound_handled_total", result="done")
        return EventStatus.DONE

    def _failed(self, event: InboundEvent, exc: Exception) -> EventStatus:
        error = SCRUBBER.scrub(f"{type(exc).__name__}: {exc}")[:500]
        if event.attempts >= self.max_attempts:
            self.store.fail(event, error=error, retry_at=None)
            METRICS.inc("gorgias_inbound_handled_total", result="dead")
            log.error(
                "event %d failed %d times, now a dead letter: %s",
                event.id,
                event.attempts,
                error,
                extra={"account": event.account, "event": "event_dead"},
            )
            return EventStatus.DEAD
        wait = max(self.policy.delay(event.attempts), self.policy.base / 2)
        retry_at = self.clock.now() + timedelta(seconds=wait)
        self.store.fail(event, error=error, retry_at=retry_at)
        METRICS.inc("gorgias_inbound_handled_total", result="retrying")
        log.warning(
            "event %d failed (attempt %d), next try in %.1fs: %s",
            event.id,
            event.attempts,
            wait,
            error,
            extra={"account": event.account, "event": "event_failed"},
        )
        self.queue.enqueue(event.id, at=retry_at)
        return EventStatus.RETRYING

    def replay(self, event_id: int) -> bool:
        """Give a dead letter a new set of attempts, now; ``False`` if it is not dead."""
        if not self.store.replay(event_id):
            return False
        log.info("event %d replayed", event_id, extra={"event": "event_replayed"})
        self.queue.enqueue(event_id)
        return True

    def sweep(self) -> int:
        """Enqueue every open event nobody took in time; return how many."""
        stranded = self.store.stranded(older_than=self.sweep_after)
        for event_id in stranded:
            self.queue.enqueue(event_id)
        if stranded:
            log.info(
                "sweep enqueued %d event(s) nobody took", len(stranded), extra={"event": "sweep"}
            )
        return len(stranded)
