"""The task queue: Huey, on the storage a deployment already has, with a JSON serializer.

Why Huey (docs/architecture.md argues it in full): one small, pure-Python, well-kept library
whose storages cover every deployment the kit supports with no new service: SQLite (the
default next to the SQLite database: ``make demo`` and several worker processes on one
machine), PostgreSQL (``FOR UPDATE SKIP LOCKED`` and ``LISTEN/NOTIFY``: many machines on the
database the app already uses) and Redis (when ``GORGIAS_REDIS_URL`` is set). It has delayed
tasks (our retries) and periodic tasks (the worker's jobs).

The queue only carries event ids: the event row is the source of truth, so a queue that is down
or was flushed loses nothing (the sweep enqueues what nobody took). Huey pickles messages by
default; :class:`JsonSerializer` replaces pickle, so whoever can write to the queue's storage
still cannot make a worker run code. No Flask, no SQL here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import Huey
from huey import MemoryHuey
from huey import PostgresHuey
from huey import RedisHuey
from huey import SqliteHuey
from huey import crontab
from huey.consumer import Consumer
from huey.registry import Message
from huey.serializer import Serializer

from ..core.settings import KitSettings

log = logging.getLogger("gorgias_appkit.queue")
QUEUE_NAME = "gorgias-appkit"
_DT = "__datetime__"
_MESSAGE = "__message__"


class JsonSerializer(Serializer):  # type: ignore[misc]
    """Huey messages as JSON: names, numbers, strings, datetimes; never pickle."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(bytes(data)))


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return {_MESSAGE: [_encode(v) for v in value]}
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"the queue carries JSON values only, not {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if _MESSAGE in value:
            return Message(*(_decode(v) for v in value[_MESSAGE]))
        if _DT in value:
            return datetime.fromisoformat(value[_DT])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def queue_url(settings: KitSettings) -> str:
    """Where the queue lives: the setting, else beside the database the app already has."""
    if settings.inbound.queue_url:
        return settings.inbound.queue_url
    if settings.redis_url is not None:
        return settings.redis_url.reveal()
    database = settings.database_url
    if database.startswith("postgresql"):
        rest = database.partition("://")[2]
        return f"postgresql://{rest}"  # psycopg's form: no "+driver"
    path = database.partition(":///")[2].split("?")[0] if database.startswith("sqlite") else ""
    if path in ("", ":memory:"):
        return "memory://"
    file = Path(path)
    return f"sqlite:///{file.with_name(file.stem + '-queue.sqlite3')}"


def make_huey(url: str, *, name: str = QUEUE_NAME) -> Huey:
    """A Huey instance on ``url`` (``sqlite:///``, ``postgresql://``, ``redis[s]://``, ``memory://``)."""
    options: dict[str, Any] = {"results": False, "serializer": JsonSerializer(), "utc": True}
    if url.startswith("sqlite:///"):
        # No fsync: the queue is not the source of truth (the event table is, and the sweep
        # re-enqueues whatever a crash took from the queue), so it need not survive power loss.
        path = url.removeprefix("sqlite:///")
        return SqliteHuey(name, filename=path, timeout=30, fsync=False, **options)
    if url.startswith("postgresql://"):
        return PostgresHuey(name, dsn=url, table_prefix="gorgias_queue", **options)
    if url.startswith(("redis://", "rediss://")):
        return RedisHuey(name, url=url, **options)
    if url.startswith("memory://"):
        return MemoryHuey(name, **options)
    raise ValueError("unsupported queue URL")  # settings.py refused it already


class _Consumer(Consumer):  # type: ignore[misc]
    """Huey's consumer, startable from any thread (signal handlers only on the main one)."""

    def _set_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._set_signal_handlers()


class EventQueue:
    """The queue of event ids and the worker's periodic jobs, created on first use."""

    def __init__(self, url: str, *, name: str = QUEUE_NAME) -> None:
        self.url = url
        self.name = name
        self._huey: Huey | None = None
        self._task: Any = None
        self._run: Callable[[int], object] | None = None
        self._periodic: list[tuple[str, Any, Callable[[], object]]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EventQueue({self.url.split('://')[0]!r})"

    def handle(self, run: Callable[[int], object]) -> None:
        """Set what runs an event id (the queue's only task)."""
        self._run = run

    def every(self, name: str, schedule: Any, job: Callable[[], object]) -> None:
        """Add a periodic job (a ``huey.crontab``) the worker runs."""
        self._periodic.append((name, schedule, job))

    @property
    def huey(self) -> Huey:
        """The Huey instance, built (and its tables created) on first use."""
        with self._lock:
            if self._huey is None:
                self._huey = self._build()
            return self._huey

    def _build(self) -> Huey:
        huey = make_huey(self.url, name=self.name)
        run = self._run
        if run is None:
            raise RuntimeError("EventQueue.handle() was not called")

        def run_event(event_id: int) -> None:
            run(int(event_id))

        self._task = huey.task(name="run_event")(run_event)
        for job_name, schedule, job in self._periodic:
            huey.periodic_task(schedule, name=job_name)(_quiet(job_name, job))
        return huey

    def enqueue(self, event_id: int, *, at: datetime | None = None) -> bool:
        """Queue one event id (at ``at``); ``False`` (logged) when the queue is unreachable."""
        try:
            huey = self.huey
            if at is None:
                huey.enqueue(self._task.s(event_id))
            else:
                self._task.schedule(args=(event_id,), eta=_naive_utc(at))
        except Exception as exc:  # any storage failure: the sweep enqueues it later
            log.warning(
                "the event queue is unreachable (%s); the sweep will enqueue event %d",
                type(exc).__name__,
                event_id,
                extra={"event": "queue_unreachable"},
            )
            return False
        return True

    def pending(self) -> int:
        """Tasks waiting in the queue (not counting scheduled retries)."""
        return int(self.huey.pending_count())

    def consumer(self, *, threads: int = 4, periodic: bool = True) -> Consumer:
        """A Huey consumer with ``threads`` worker threads (start it, or ``run()`` it)."""
        return _Consumer(
            self.huey,
            workers=threads,
            periodic=periodic,
            initial_delay=0.05,
            max_delay=0.25,  # an idle SQLite queue is polled at most every 0.25 s
            worker_type="thread",
            check_worker_health=True,
        )

    def close(self) -> None:
        """Release the storage's connections."""
        if self._huey is not None:
            close = getattr(self._huey.storage, "close", None)
            if callable(close):
                close()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _quiet(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # a failing job is logged and runs again at its next time
            log.exception("periodic job %s failed", name, extra={"event": "job_failed"})

    run.__name__ = name.replace("-", "_")
    return run


__all__ = ["EventQueue", "JsonSerializer", "crontab", "make_huey", "queue_url"]
