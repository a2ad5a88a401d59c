"""The API's Prometheus series: plain counters recorded per request, turned into metric families on a scrape.

Recording a request is a couple of dict and list updates (:class:`Metrics`; no locks: one event loop per
process), so the hot path pays almost nothing. :class:`HttpCollector` reads those numbers, the engine's cache
counters and the rate limiter's when ``/metrics`` is scraped; prometheus_client writes the exposition. With
``--workers N`` each process keeps its own numbers and labels them with ``pid``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Final

from prometheus_client.core import Metric

from worker.api.ratelimit import RateLimiter
from worker.lookup.engine import LookupEngine
from worker.metrics import Histogram, bucket_labels, counter, gauge, histogram_family

# Seconds: the v1 target is p99 ≤ 10 ms, so most of the resolution sits below that.
BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LE: Final = bucket_labels(BUCKETS)


class Metrics:
    """What the guard records around every route: requests by route and status, latency by route."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, Histogram] = {}
        self.pid = str(os.getpid())

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = Histogram(BUCKETS)
        histogram.observe(seconds)


class HttpCollector:
    """The API's series, read at scrape time from :class:`Metrics`, the engine and the rate limiter."""

    def __init__(self, stats: Metrics, engine: LookupEngine, limiter: RateLimiter) -> None:
        self.stats = stats
        self.engine = engine
        self.limiter = limiter
        # Set by the /metrics view just before a scrape: collect() is synchronous and cannot ping Redis.
        # None while Redis is not configured, and the series is left out.
        self.redis_up: bool | None = None

    def collect(self) -> Iterator[Metric]:
        pid, stats = self.stats.pid, self.stats
        yield counter(
            "numlookup_http_requests",
            "HTTP requests by route and status.",
            ("pid", "route", "status"),
            (((pid, route, str(status)), n) for (route, status), n in sorted(stats.requests.items())),
        )
        yield histogram_family(
            "numlookup_http_request_duration_seconds",
            "Time to answer, by route.",
            LE,
            (((pid, route), histogram) for route, histogram in sorted(stats.latency.items())),
            labels=("pid", "route"),
        )
        yield counter("numlookup_cache_hits", "Answer cache hits.", ("pid", "cache"), self._caches("hits"))
        yield counter(
            "numlookup_cache_misses", "Answer cache misses.", ("pid", "cache"), self._caches("misses")
        )
        rejected = self.limiter.rejected
        yield counter("numlookup_rate_limited", "Requests refused with 429.", ("pid",), [((pid,), rejected)])
        if self.redis_up is not None:
            up = [((pid,), int(self.redis_up))]
            yield gauge("numlookup_redis_up", "1 while Redis answers, 0 while it fails.", ("pid",), up)
        dataset = self.engine.dataset
        if dataset is not None:
            labels, values = ("pid", "version"), (pid, dataset.version)
            yield gauge("numlookup_dataset_info", "The dataset version being served.", labels, [(values, 1)])
            age = [(values, round(dataset.meta.age_seconds))]
            yield gauge("numlookup_dataset_age_seconds", "Age of the served dataset.", labels, age)

    def _caches(self, attribute: str) -> Iterator[tuple[tuple[str, str], int]]:
        caches: list[tuple[str, object]] = [("memory", self.engine.memory)]
        if self.engine.shared is not None:
            caches.append(("redis", self.engine.shared))
        for name, cache in caches:
            value = getattr(cache, attribute, None)  # a shared cache without counters is left out
            if isinstance(value, int):
                yield (self.stats.pid, name), value
