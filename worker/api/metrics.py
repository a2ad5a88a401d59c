"""Prometheus metrics, kept as plain counters and written out in the text exposition format by hand.

Recording a request is a couple of dict and list updates (no locks: one event loop per process), so the hot
path pays almost nothing; the exposition is built only when ``/metrics`` is scraped. With ``--workers N``
each process keeps its own numbers and labels them with ``pid``.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

from worker.lookup.engine import LookupEngine

# Seconds: the v1 target is p99 ≤ 10 ms, so most of the resolution sits below that.
BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last slot is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
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
            histogram = self.latency[route] = Histogram()
        histogram.observe(seconds)

    def render(self, engine: LookupEngine, *, rate_limited: int, redis_up: bool | None) -> str:
        return "".join(self._lines(engine, rate_limited, redis_up))

    def _lines(self, engine: LookupEngine, rate_limited: int, redis_up: bool | None) -> Iterator[str]:
        pid = f'pid="{self.pid}"'
        yield from _header("numlookup_http_requests_total", "counter", "HTTP requests by route and status.")
        for (route, status), count in sorted(self.requests.items()):
            yield f'numlookup_http_requests_total{{{pid},route="{route}",status="{status}"}} {count}\n'
        yield from _header(
            "numlookup_http_request_duration_seconds", "histogram", "Time to answer, by route."
        )
        for route, histogram in sorted(self.latency.items()):
            yield from _histogram_lines(f'{pid},route="{route}"', histogram)
        yield from _header("numlookup_cache_hits_total", "counter", "Answer cache hits.")
        yield from _cache_lines("hits", pid, engine)
        yield from _header("numlookup_cache_misses_total", "counter", "Answer cache misses.")
        yield from _cache_lines("misses", pid, engine)
        yield from _header("numlookup_rate_limited_total", "counter", "Requests refused with 429.")
        yield f"numlookup_rate_limited_total{{{pid}}} {rate_limited}\n"
        if redis_up is not None:
            yield from _header("numlookup_redis_up", "gauge", "1 while Redis answers, 0 while it fails.")
            yield f"numlookup_redis_up{{{pid}}} {int(redis_up)}\n"
        dataset = engine.dataset
        if dataset is not None:
            version = f'version="{dataset.version}"'
            yield from _header("numlookup_dataset_info", "gauge", "The dataset version being served.")
            yield f"numlookup_dataset_info{{{pid},{version}}} 1\n"
            yield from _header("numlookup_dataset_age_seconds", "gauge", "Age of the served dataset.")
            yield f"numlookup_dataset_age_seconds{{{pid},{version}}} {dataset.meta.age_seconds:.0f}\n"


def _header(name: str, kind: str, text: str) -> Iterator[str]:
    yield f"# HELP {name} {text}\n"
    yield f"# TYPE {name} {kind}\n"


def _histogram_lines(labels: str, histogram: Histogram) -> Iterator[str]:
    name = "numlookup_http_request_duration_seconds"
    cumulative = 0
    for bound, count in zip((*BUCKETS, None), histogram.counts, strict=True):
        cumulative += count
        le = "+Inf" if bound is None else repr(bound)
        yield f'{name}_bucket{{{labels},le="{le}"}} {cumulative}\n'
    yield f"{name}_sum{{{labels}}} {histogram.total:.6f}\n"
    yield f"{name}_count{{{labels}}} {cumulative}\n"


def _cache_lines(counter: str, pid: str, engine: LookupEngine) -> Iterator[str]:
    caches: list[tuple[str, object]] = [("memory", engine.memory)]
    if engine.shared is not None:
        caches.append(("redis", engine.shared))
    for name, cache in caches:
        value = getattr(cache, counter, None)
        if isinstance(value, int):
            yield f'numlookup_cache_{counter}_total{{{pid},cache="{name}"}} {value}\n'
