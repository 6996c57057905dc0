"""RefreshRunner: ``refresh-due`` with N threads, sharing the due installations with other runners.

One run claims due installations in small batches (:class:`~gorgias_appkit.store.ports.
RefreshClaims`: rows another runner holds are skipped) and refreshes them on ``concurrency``
threads. Every refresh goes through :meth:`TokenManager.refresh_if_due`, so through the same
single-flight lock as a web request: the lock, not the claim, is what guarantees one refresh
per token (REL-01, REL-12). A failure of one account is reported and never stops the run; an
unexpected error (a bug) stops every thread and is raised once they are done.

Batches are as large as the thread count, so claimed rows wait at most one refresh per thread
before they are worked on, and a second runner finds the rest unclaimed.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from ..core.account import Account
from ..core.clock import Clock
from ..errors import GorgiasAppError
from ..store.ports import RefreshClaims
from .manager import RefreshOutcome
from .manager import RefreshReport
from .manager import TokenManager

MAX_CONCURRENCY = 32
# A claim outlives a batch even when every refresh in it takes its whole 25 s deadline.
CLAIM_SECONDS = 120.0


class RefreshRunner:
    """Refreshes every installation due within a window, ``concurrency`` at a time."""

    def __init__(
        self,
        *,
        manager: TokenManager,
        claims: RefreshClaims,
        clock: Clock,
        concurrency: int = 1,
        hold: float = CLAIM_SECONDS,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self.manager = manager
        self.claims = claims
        self.clock = clock
        self.concurrency = concurrency
        self.hold = hold
        self.runner_id = f"{socket.gethostname()[:40]}:{secrets.token_hex(4)}"

    def count_due(self, *, within: float) -> int:
        """How many installations are due within ``within`` seconds (for a progress bar)."""
        return self.claims.count_due(self.clock.now() + timedelta(seconds=within))

    def run(
        self, *, within: float, on_report: Callable[[RefreshReport], None] | None = None
    ) -> list[RefreshReport]:
        """Refresh what expires within ``within`` seconds; ``on_report`` sees each result."""
        run = _Run(self, self.clock.now() + timedelta(seconds=within), within, on_report)
        if self.concurrency == 1:
            run.work()
        else:
            threads = [
                threading.Thread(target=run.work, name=f"refresh-due-{n}", daemon=True)
                for n in range(self.concurrency)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if run.crashed is not None:
            raise run.crashed
        return run.reports


class _Run:
    """One run's shared state: the claimed batch, the accounts done, the reports."""

    def __init__(
        self,
        runner: RefreshRunner,
        before: datetime,
        within: float,
        on_report: Callable[[RefreshReport], None] | None,
    ) -> None:
        self.runner = runner
        self.before = before
        self.within = within
        self.on_report = on_report
        self.lock = threading.Lock()  # guards the batch, the reports and on_report
        self.batch: list[Account] = []
        self.done: set[Account] = set()
        self.reports: list[RefreshReport] = []
        self.finished = False
        self.crashed: BaseException | None = None

    def work(self) -> None:
        try:
            while (account := self._next()) is not None:
                self._record(self._refresh(account))
        except BaseException as exc:  # a bug: stop every thread, raise it from run()
            with self.lock:
                self.finished = True
                self.crashed = self.crashed or exc

    def _next(self) -> Account | None:
        with self.lock:
            while not self.finished:
                while self.batch:
                    account = self.batch.pop(0)
                    if account not in self.done:
                        self.done.add(account)
                        return account
                self.batch = self.runner.claims.claim_due(
                    self.before,
                    runner=self.runner.runner_id,
                    limit=self.runner.concurrency,
                    hold=self.runner.hold,
                )
                # Nothing left to claim: this run is over. (Rows this run already did may come
                # back once their claim ran out; they are skipped above and claimed again.)
                self.finished = not self.batch
            return None

    def _refresh(self, account: Account) -> RefreshReport:
        try:
            return self.runner.manager.refresh_if_due(account, within=self.within)
        except GorgiasAppError as exc:  # e.g. a lock timeout: reported, the run goes on
            reason = getattr(exc, "error", type(exc).__name__)
            return RefreshReport(account=account, outcome=RefreshOutcome.FAILED, reason=str(reason))

    def _record(self, report: RefreshReport) -> None:
        with self.lock:
            self.reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
