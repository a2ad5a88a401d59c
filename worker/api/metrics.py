"""The API's Prometheus series: plain counters recorded per request, turned into metric families on a scrape.

Recording a request is a couple of dict and list updates (:class:`Metrics`; no locks: one event loop per
process), so the hot path pays almost nothing. :class:`HttpCollector` reads those numbers, the engine's cache
counters and the rate limiter's when ``/metrics`` is scraped; prometheus_client writes the exposition.

With ``--workers N`` each process keeps its own numbers and labels them with ``pid``, and one scrape reports
every process: :class:`Siblings` asks the others for theirs at scrape time, over Unix sockets in a directory
the parent made, and the families are merged by name (docs/api.md says why not prometheus_client's
multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from worker.api.ratelimit import RateLimiter
from worker.api.replies import headers_for
from worker.lookup.engine import LookupEngine
from worker.metrics import Histogram, bucket_labels, counter, gauge, histogram_family

log = logging.getLogger(__name__)

SIBLING_TIMEOUT: Final = 1.0  # seconds a sibling gets to answer a scrape; a stuck one is left out
PROCESS_ONLY: Final = "process"  # /metrics?scope=process: this process's series alone (what siblings ask)

# Seconds: the v1 target is p99 ≤ 10 ms, so most of the resolution sits below that.
BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LE: Final = bucket_labels(BUCKETS)


# The text format generate_latest() writes. Not CONTENT_TYPE_LATEST, which says version=1.0.0 since
# prometheus_client 0.23: this keeps the header scrapers have always seen.
EXPOSITION_HEADERS: Final = headers_for(CONTENT_TYPE_PLAIN_0_0_4, cors=False)


def exposition(registry: CollectorRegistry) -> web.Response:
    """A ``/metrics`` answer: ``registry``'s series in Prometheus's text format."""
    return web.Response(body=generate_latest(registry), headers=EXPOSITION_HEADERS)


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
        rejected = self.limiter.rejected
        yield counter("numlookup_rate_limited", "Requests refused with 429.", ("pid",), [((pid,), rejected)])
        yield from process_families(pid, self.engine, self.redis_up)


def process_families(pid: str, engine: LookupEngine, redis_up: bool | None) -> Iterator[Metric]:
    """The series of any serving process, the API's or the AMI worker's: its caches, Redis, its dataset."""
    yield counter("numlookup_cache_hits", "Answer cache hits.", ("pid", "cache"), caches(pid, engine, "hits"))
    misses = caches(pid, engine, "misses")
    yield counter("numlookup_cache_misses", "Answer cache misses.", ("pid", "cache"), misses)
    if redis_up is not None:
        up = [((pid,), int(redis_up))]
        yield gauge("numlookup_redis_up", "1 while Redis answers, 0 while it fails.", ("pid",), up)
    dataset = engine.dataset
    if dataset is not None:
        labels, values = ("pid", "version"), (pid, dataset.version)
        yield gauge("numlookup_dataset_info", "The dataset version being served.", labels, [(values, 1)])
        age = [(values, round(dataset.meta.age_seconds))]
        yield gauge("numlookup_dataset_age_seconds", "Age of the served dataset.", labels, age)


def caches(pid: str, engine: LookupEngine, attribute: str) -> Iterator[tuple[tuple[str, str], int]]:
    found: list[tuple[str, object]] = [("memory", engine.memory)]
    if engine.shared is not None:
        found.append(("redis", engine.shared))
    for name, cache in found:
        value = getattr(cache, attribute, None)  # a shared cache without counters is left out
        if isinstance(value, int):
            yield (pid, name), value


class ProcessCollector:
    """:func:`process_families` as a collector, for a process without the API (``numlookup worker``)."""

    def __init__(self, engine: LookupEngine) -> None:
        self.engine = engine
        self.pid = str(os.getpid())
        self.redis_up: bool | None = None  # as HttpCollector's: set by the view before a scrape

    def collect(self) -> Iterator[Metric]:
        return process_families(self.pid, self.engine, self.redis_up)


class Siblings:
    """The other API processes of ``numlookup api --workers N``, reachable at ``<directory>/<pid>.sock``.

    The parent makes the directory; each child listens on its own socket there as well as on the shared port.
    A socket whose process is gone refuses the connection and is skipped.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / f"{os.getpid()}.sock"

    async def families(self) -> list[Metric]:
        """Every sibling's metric families; those that did not answer in time are left out."""
        others = sorted(path for path in self.directory.glob("*.sock") if path != self.socket)
        replies = await asyncio.gather(*(self._scrape(path) for path in others), return_exceptions=True)
        families: list[Metric] = []
        for path, reply in zip(others, replies, strict=True):
            if isinstance(reply, BaseException):
                log.debug("metrics of %s left out: %s", path.name, reply)
                continue
            families.extend(text_string_to_metric_families(reply))
        return families

    async def _scrape(self, path: Path) -> str:
        timeout = aiohttp.ClientTimeout(total=SIBLING_TIMEOUT)
        connector = aiohttp.UnixConnector(path=str(path))
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.get(f"http://localhost/metrics?scope={PROCESS_ONLY}") as response,
        ):
            response.raise_for_status()
            return await response.text()


class Merged(Collector):
    """Families of several processes as one collector: samples of families with the same name go together
    (Prometheus wants each name once per exposition); every sample carries its process's ``pid`` label."""

    def __init__(self, families: Iterable[Metric]) -> None:
        merged: dict[str, Metric] = {}
        for family in families:
            existing = merged.get(family.name)
            if existing is None:
                merged[family.name] = family
            else:
                existing.samples.extend(family.samples)
        self._families = list(merged.values())

    def collect(self) -> Iterable[Metric]:
        return self._families
