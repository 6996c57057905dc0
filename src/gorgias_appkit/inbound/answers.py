"""Data handlers: answer Gorgias synchronously, within a deadline below Gorgias' timeout.

The handler runs on a small thread pool so the view can stop waiting at the deadline
(``GORGIAS_INBOUND_DEADLINE``): a late handler costs one failed answer (504) instead of a
Gorgias timeout, which Gorgias would follow with a retry. Its API client's calls end within the
same deadline (waiting for rate budget included). The answer must be a JSON object; anything
else, or an exception, is a 500 whose body says nothing of the app's internals.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from ..api.client import GorgiasClient
from ..core.account import Account
from ..core.secret import SCRUBBER
from .declarations import DataCall
from .declarations import DataIntegration

log = logging.getLogger("gorgias_appkit.inbound")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the view sends back: a status and a JSON object; ``error`` for the health count."""

    status: int
    body: dict[str, Any]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Gorgias will take this answer (2xx JSON)."""
        return 200 <= self.status < 300


class DataAnswers:
    """Runs data handlers within the deadline."""

    def __init__(
        self,
        *,
        deadline: float,
        client_for: Callable[[Account, float], GorgiasClient],
        threads: int = 8,
    ) -> None:
        self.deadline = deadline
        self.client_for = client_for
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="data-handler")

    def __repr__(self) -> str:
        return f"DataAnswers(deadline={self.deadline!r})"

    def answer(
        self, declared: DataIntegration, account: Account, fields: Mapping[str, Any]
    ) -> Answer:
        """Run ``declared``'s handler for one call and judge its result."""
        started = time.monotonic()
        call = DataCall(
            account=account,
            integration=declared.name,
            ticket_id=str(fields["ticket_id"]) if fields.get("ticket_id") else None,
            fields=dict(fields),
            deadline=self.deadline,
            client_for=self.client_for,
        )
        future = self._pool.submit(declared.handler, call)
        try:
            result = future.result(timeout=self.deadline)
        except FutureTimeout:
            log.warning(
                "data handler %s took longer than %.1fs",
                declared.name,
                self.deadline,
                extra={"account": account, "event": "data_handler_late"},
            )
            return Answer(504, {"error": "the app did not answer in time"}, "deadline")
        except Exception as exc:  # partner code: contained, logged (scrubbed), answered 500
            reason = SCRUBBER.scrub(f"{type(exc).__name__}: {exc}")[:300]
            log.warning(
                "data handler %s failed: %s",
                declared.name,
                reason,
                extra={"account": account, "event": "data_handler_failed"},
            )
            return Answer(500, {"error": "the app could not answer"}, reason)
        return self._judge(declared, account, result, time.monotonic() - started)

    def _judge(
        self, declared: DataIntegration, account: Account, result: Any, took: float
    ) -> Answer:
        try:
            if not isinstance(result, Mapping):
                raise TypeError(f"a {type(result).__name__}, not a JSON object")
            body = json.loads(json.dumps(dict(result)))
        except (TypeError, ValueError) as exc:
            log.warning(
                "data handler %s answered something that is not JSON (%s)",
                declared.name,
                type(exc).__name__,
                extra={"account": account, "event": "data_handler_failed"},
            )
            return Answer(500, {"error": "the app could not answer"}, "not a JSON object")
        log.debug("data handler %s answered in %.3fs", declared.name, took)
        return Answer(200, body)

    def close(self) -> None:
        """Stop the thread pool (running handlers finish on their own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
