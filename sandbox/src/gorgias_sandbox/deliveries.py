"""Delivering HTTP-integration calls: the World's small worker pool and what it remembers.

A ticket event *plans* one :class:`Job` per active integration whose triggers match (the request
is rendered at once, from the ticket as it is then) and queues it; a job waits for its
``released`` event (set when the API's answer has been sent, at most ``RELEASE_WAIT`` seconds)
so the app hears of a change only after the caller got its answer. At most ``WORKERS`` daemon
threads send jobs (they exit when idle); at most ``QUEUE_LIMIT`` jobs wait (more are dropped
and counted as ``integration.dropped``).

Each attempt is logged with its outcome (``sender.py``): on ``ok`` the answer is stored per
ticket and integration and the failure count goes back to 0; a ``timeout`` (no answer within
config ``integration_timeout``) is re-sent once, identically. Every failed attempt adds one to
the integration's consecutive failures; at config ``integration_failure_limit`` its
``deactivated_datetime`` is set and it is not called again until a PUT sets it back to null.
Counters: ``integration.delivery`` and ``integration.delivery.<ok|timeout|connect|error>``
per attempt, ``integration.deactivated``.
``reset`` forgets everything and makes jobs still in flight record nothing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .integrations import Call, build_call, event_context
from .seed import now_iso
from .sender import Attempt, new_client, record_of, send
from .triggers import enabled

if TYPE_CHECKING:
    from .world import AccountData, World

WORKERS = 4
QUEUE_LIMIT = 1000
LOG_LIMIT = 1000  # delivery records kept per account
RELEASE_WAIT = 10.0
IDLE_EXIT = 2.0
# Not a Gorgias trigger: how a call caused by opening a ticket page (config
# ``integration_call_on_view``) is labelled in the delivery log.
VIEW_TRIGGER = "ticket-viewed"


@dataclass
class Job:
    """One planned call, tagged with the state generation it belongs to."""

    account: str
    call: Call
    generation: int
    released: threading.Event = field(default_factory=threading.Event)


class Deliveries:
    """The delivery queue, its workers, the delivery log, failure counts and stored answers."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._cond = threading.Condition()
        self._queue: queue.Queue[Job] = queue.Queue(QUEUE_LIMIT)
        self._pending = self._workers = self._generation = 0
        self._http: httpx.Client | None = None
        self._seq = 0
        self.log: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[tuple[str, int], int] = {}
        self.answers: dict[tuple[str, int, int], dict[str, Any]] = {}

    def reset(self) -> None:
        """Forget everything; queued jobs are dropped and jobs in flight record nothing."""
        with self._cond:
            self._generation += 1
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
                self._pending -= 1
            self._cond.notify_all()
        with self._world.lock:
            self.log, self.failures, self.answers, self._seq = {}, {}, {}, 0

    # -- what tests and pages read ------------------------------------------------------
    def records(self, account: str) -> list[dict[str, Any]]:
        """The delivery log of ``account``, oldest first."""
        with self._world.lock:
            return [dict(r) for r in self.log.get(account, [])]

    def states(self, account: AccountData) -> list[dict[str, Any]]:
        """Per integration: consecutive failures and whether it is active."""
        with self._world.lock:
            return [
                {
                    "integration_id": iid,
                    "name": integration.get("name"),
                    "active": integration.get("deactivated_datetime") is None,
                    "deactivated_datetime": integration.get("deactivated_datetime"),
                    "consecutive_failures": self.failures.get((account.domain, iid), 0),
                }
                for iid, integration in account.integrations.items()
            ]

    def stored_answers(self, account: str, ticket_id: int | None = None) -> list[dict[str, Any]]:
        """The last answer of each integration per ticket (optionally for one ticket)."""
        with self._world.lock:
            return [
                dict(a)
                for (acct, tid, _), a in self.answers.items()
                if acct == account and (ticket_id is None or tid == ticket_id)
            ]

    def forget_failures(self, account: str, integration_id: int) -> None:
        """Start counting failures from 0 again (the integration was reactivated)."""
        with self._world.lock:
            self.failures.pop((account, integration_id), None)

    # -- planning and queueing ----------------------------------------------------------
    def plan(self, account: AccountData, ticket_id: int, triggers: Sequence[str]) -> list[Job]:
        """Render the calls ``triggers`` on ``ticket_id`` cause now, and count them pending."""
        with self._world.lock:
            ticket = account.ticket(ticket_id)
            if ticket is None:
                return []
            context = event_context(ticket, account.messages.get(ticket_id, []))
            calls = [
                build_call(integration, context, trigger)
                for trigger in triggers
                for integration in account.integrations.values()
                if integration.get("deactivated_datetime") is None
                and trigger in enabled(integration["http"].get("triggers"))
            ]
        with self._cond:
            self._pending += len(calls)
            return [Job(account.domain, call, self._generation) for call in calls]

    def plan_view(self, account: AccountData, ticket_id: int) -> list[Job]:
        """The calls to the active integrations the account's widgets show (a page view)."""
        with self._world.lock:
            ticket = account.ticket(ticket_id)
            shown = {w.get("integration_id") for w in account.widgets.values()}
            if ticket is None:
                return []
            context = event_context(ticket, account.messages.get(ticket_id, []))
            calls = [
                build_call(integration, context, VIEW_TRIGGER)
                for iid, integration in account.integrations.items()
                if iid in shown and integration.get("deactivated_datetime") is None
            ]
        with self._cond:
            self._pending += len(calls)
            return [Job(account.domain, call, self._generation) for call in calls]

    def dispatch(self, jobs: Sequence[Job]) -> None:
        """Queue planned jobs (they still wait for :meth:`release`)."""
        for job in jobs:
            with self._cond:
                try:
                    self._queue.put_nowait(job)
                except queue.Full:
                    self._pending -= 1
                    self._cond.notify_all()
                    dropped = True
                else:
                    dropped = False
            if dropped:  # counted outside the condition: world.lock is always taken first
                self._world.count(job.account, "integration.dropped")
                continue
            with self._cond:
                if self._workers < WORKERS:
                    self._workers += 1
                    threading.Thread(
                        target=self._work, name="sandbox-delivery", daemon=True
                    ).start()

    @staticmethod
    def release(jobs: Sequence[Job]) -> None:
        """Let the jobs go: the answer to the request that caused them has been sent."""
        for job in jobs:
            job.released.set()

    def wait(self, timeout: float) -> int:
        """Wait until no job is pending (or ``timeout``); return how many still are."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending <= 0, timeout)
            return max(0, self._pending)

    # -- workers --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=IDLE_EXIT)
            except queue.Empty:
                with self._cond:
                    if self._queue.empty():
                        self._workers -= 1
                        return
                continue
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def _run(self, job: Job) -> None:
        job.released.wait(RELEASE_WAIT)
        for number in (1, 2):
            if not self._active(job):
                return
            attempt = self._send(job.call, number)
            self._record(job, attempt)
            if attempt.outcome != "timeout":
                return

    def _send(self, call: Call, number: int) -> Attempt:
        with self._cond:
            if self._http is None:
                self._http = new_client()
            client = self._http
        return send(client, call, number, self._world.config.integration_timeout)

    # -- recording ------------------------------------------------------------------------
    def _active(self, job: Job) -> bool:
        with self._world.lock:
            if job.generation != self._generation or job.account not in self._world.accounts:
                return False
            integration = self._world.accounts[job.account].integrations.get(
                job.call.integration_id
            )
            return integration is not None and integration.get("deactivated_datetime") is None

    def _record(self, job: Job, attempt: Attempt) -> None:
        world, call = self._world, job.call
        with world.lock:
            if job.generation != self._generation:
                return
            self._seq += 1
            entry = record_of(self._seq, call, attempt)
            records = self.log.setdefault(job.account, [])
            records.append(entry)
            del records[:-LOG_LIMIT]
            world.count(job.account, "integration.delivery")
            world.count(job.account, f"integration.delivery.{attempt.outcome.split(':')[0]}")
            key = (job.account, call.integration_id)
            if attempt.outcome == "ok":
                self.failures[key] = 0
                self.answers[(job.account, call.ticket_id, call.integration_id)] = {
                    "ticket_id": call.ticket_id,
                    "integration_id": call.integration_id,
                    "answer": attempt.answer,
                    "received_datetime": entry["started_datetime"],
                    "delivery_id": entry["id"],
                }
                return
            self.failures[key] = self.failures.get(key, 0) + 1
            if self.failures[key] >= world.config.integration_failure_limit:
                self._deactivate(job.account, call.integration_id)

    def _deactivate(self, account: str, integration_id: int) -> None:
        integration = self._world.accounts[account].integrations.get(integration_id)
        if integration is not None and integration.get("deactivated_datetime") is None:
            integration["deactivated_datetime"] = now_iso()
            self._world.count(account, "integration.deactivated")
