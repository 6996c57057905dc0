"""The kit's counters, on ``prometheus_client``, and their exposition with the database gauges.

Every layer counts through :data:`METRICS` (``METRICS.inc(name, amount, **labels)``); tests read
a counter with ``METRICS.value(name, **labels)``. The names and labels are fixed in
:data:`COUNTERS` (the README documents them); labels hold account names, status codes and
reasons, never a token.

Under ``gorgias-appkit serve`` the environment names a ``PROMETHEUS_MULTIPROC_DIR``: each worker
process then writes its counters to its own files there (prometheus_client's multiprocess mode)
and :meth:`Metrics.render` sums every process's files, workers that exited included, so one
scrape sees the whole server and a counter never goes backwards. Without it (the demo, tests,
one process), the counters are this process's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Metric
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes

# name -> (help, label names)
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gorgias_refresh_total": ("Token refreshes by result and reason.", ("result", "reason")),
    "gorgias_token_endpoint_retries_total": ("Retries of token endpoint calls.", ("reason",)),
    "gorgias_api_calls_total": ("Gorgias API calls by account and status.", ("account", "status")),
    "gorgias_api_429_total": ("429 answers from the Gorgias API by account.", ("account",)),
    "gorgias_rate_wait_seconds_total": (
        "Time spent waiting for rate budget by account.",
        ("account",),
    ),
    "gorgias_rate_waits_total": ("Times a call waited for rate budget by account.", ("account",)),
    "gorgias_inbound_events_total": (
        "Events Gorgias delivered, by trigger and whether they were new (not a redelivery).",
        ("trigger", "new"),
    ),
    "gorgias_inbound_handled_total": (
        "Event handler runs by result: done, retrying, dead (a dead letter).",
        ("result",),
    ),
}

# A gauge read at scrape time: name -> (help, label name, {label value: number}).
Gauge = tuple[str, str, Mapping[str, float]]


class Metrics:
    """The kit's counters in their own registry (several may coexist, e.g. in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        # One labelled child per (name, labels): ``labels()`` validates and locks on every
        # call, a measurable share of a fast API call. Bounded by the accounts and statuses seen.
        self._children: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` with ``labels`` (all of its label names)."""
        key = (name, tuple(labels.items()))
        child = self._children.get(key)
        if child is None:
            child = self._counters[name].labels(**{k: str(v) for k, v in labels.items()})
            self._children[key] = child
        child.inc(amount)

    def value(self, name: str, **labels: str) -> float:
        """Return one counter's value in this process (0 if never incremented)."""
        found = self.registry.get_sample_value(name, {k: str(v) for k, v in labels.items()})
        return found or 0.0

    def render(self, gauges: Mapping[str, Gauge] | None = None) -> str:
        """The Prometheus text format: ``gauges``, then every counter of every process."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Gauges(gauges or {}))
        if os.environ.get(MULTIPROC_ENV):
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # sums every worker
        else:
            registry.register(_WithoutCreated(self.registry))
        return generate_latest(registry).decode()


class _WithoutCreated:
    """This process's counters without their ``_created`` timestamps (as in multiprocess mode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield metric


class _Gauges:
    """A collector for gauges computed by the caller at scrape time (from the database)."""

    def __init__(self, gauges: Mapping[str, Gauge]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name, (text, label, values) in sorted(self.gauges.items()):
            family = GaugeMetricFamily(name, text, labels=[label])
            for value, number in sorted(values.items()):
                family.add_metric([value], number)
            yield family


METRICS = Metrics()
