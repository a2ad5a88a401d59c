"""Counters of the upstream sources and their cache, and their Prometheus metric families.

Plain ints and :class:`worker.metrics.Histogram` recorded in place (one event loop per process), turned into
metric families only when ``/metrics`` is scraped, like every other series of numlookup.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.core import Metric

from worker.errors import UpstreamError
from worker.lookup.upstream.breaker import STATE_VALUES, Breaker
from worker.lookup.upstream.budget import Budget
from worker.lookup.upstream.sources import Source
from worker.metrics import Histogram, bucket_labels, counter, gauge, histogram_family

BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
LE: Final = bucket_labels(BUCKETS)
# outcomes of one request: ok, unknown (404), throttled (429), server_error (5xx), timeout, bad_answer,
# unreachable (the connection failed)


@dataclass
class SourceState:
    """One source as this process uses it: the client, the shared budget, the breaker, the counters."""

    source: Source
    budget: Budget
    breaker: Breaker
    requests: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=lambda: Histogram(BUCKETS))
    last_error: str | None = None
    quiet_until: float = 0.0  # monotonic: the budget said no token before this, so do not ask Redis again

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def errors(self) -> int:
        return sum(n for outcome, n in self.requests.items() if outcome not in ("ok", "unknown"))

    def health(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.source.kind,
            "breaker": self.breaker.state,
            "rate": self.budget.rate,
            "budget_left": round(self.budget.left, 2),
            "requests": sum(self.requests.values()),
            "errors": self.errors,
            "last_error": self.last_error,
        }


@dataclass
class CacheStats:
    memory: int = 0  # answered from the in-process LRU
    shared: int = 0  # ... from Redis / the SQLite file
    misses: int = 0  # had to ask
    coalesced: int = 0  # joined a request already out (this process) or waited for another replica's
    late: int = 0  # answered locally: the deadline passed first
    refreshes_queued: int = 0
    refreshes_dropped: int = 0  # the queue was full


def outcome_of(error: UpstreamError) -> str:
    """The ``outcome`` label of a failed request."""
    status = error.status
    if status == 429:
        return "throttled"
    if status is not None and status >= 500:
        return "server_error"
    if status == 200:
        return "bad_answer"
    return "timeout" if "no answer" in error.reason else "error"


def collect(states: Sequence[SourceState], cache: CacheStats, queue_length: int) -> Iterator[Metric]:
    """Every series carries ``pid`` (as the API's do): with ``--workers N`` each process counts its own."""
    pid = str(os.getpid())
    yield counter(
        "numlookup_upstream_requests",
        "Requests to upstream MNP sources, by outcome.",
        ("pid", "source", "outcome"),
        (((pid, s.name, outcome), n) for s in states for outcome, n in sorted(s.requests.items())),
    )
    yield counter(
        "numlookup_upstream_errors",
        "Upstream requests that brought no answer.",
        ("pid", "source"),
        (((pid, s.name), s.errors) for s in states),
    )
    yield histogram_family(
        "numlookup_upstream_request_duration_seconds",
        "Time an upstream took to answer.",
        LE,
        (((pid, s.name), s.latency) for s in states),
        labels=("pid", "source"),
    )
    yield gauge(
        "numlookup_upstream_budget_left",
        "Requests left in the shared budget as last seen.",
        ("pid", "source"),
        (((pid, s.name), s.budget.left) for s in states),
    )
    yield counter(
        "numlookup_upstream_budget_spent",
        "Lookups that found the budget spent.",
        ("pid", "source"),
        (((pid, s.name), s.budget.spent) for s in states),
    )
    yield gauge(
        "numlookup_upstream_breaker_state",
        "Circuit breaker: 0 closed, 1 half-open, 2 open.",
        ("pid", "source"),
        (((pid, s.name), STATE_VALUES[s.breaker.state]) for s in states),
    )
    yield counter(
        "numlookup_upstream_cache_lookups",
        "Numbers an upstream could answer, by where the answer came from (hit ratio: memory+shared / all).",
        ("pid", "result"),
        [((pid, "memory"), cache.memory), ((pid, "shared"), cache.shared), ((pid, "miss"), cache.misses)],
    )
    yield counter(
        "numlookup_upstream_coalesced",
        "Lookups that joined a request already out.",
        ("pid",),
        [((pid,), cache.coalesced)],
    )
    yield counter(
        "numlookup_upstream_late",
        "Answered locally: the deadline passed first.",
        ("pid",),
        [((pid,), cache.late)],
    )
    yield gauge(
        "numlookup_upstream_refresh_queue",
        "Numbers waiting for a background refresh.",
        ("pid",),
        [((pid,), queue_length)],
    )
    yield counter(
        "numlookup_upstream_refresh_dropped",
        "Refreshes not queued: the queue was full.",
        ("pid",),
        [((pid,), cache.refreshes_dropped)],
    )
