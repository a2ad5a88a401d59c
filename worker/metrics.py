"""Prometheus plumbing shared by the front ends: a lock-free latency histogram and metric family builders.

Each front end records into plain ints, dicts and :class:`Histogram` bucket lists (no locks: one event loop
per process; prometheus_client's own ``Counter`` and ``Histogram`` take a lock per observation). Its
collector turns those numbers into prometheus_client metric families only when ``/metrics`` is scraped.
Neither the HTTP API nor the AMI side is imported here: both import this.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

Rows = Iterable[tuple[Sequence[str], float]]  # (label values, value) of each series in a family
Family = Callable[[str, str, Sequence[str], Rows], Metric]  # counter() or gauge(): name, HELP, labels, rows


class Histogram:
    """Bucket counts (not cumulative; the last one is +Inf) and the sum of everything observed."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds  # upper bounds in seconds, ascending; shared by every histogram of a series
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        # Summed when asked (a scrape, a test) rather than counted on every observation.
        return sum(self.counts)


def bucket_labels(bounds: Sequence[float], spell: Callable[[float], str] = repr) -> tuple[str, ...]:
    """The ``le`` label values of ``bounds``, then ``+Inf``.

    Each series keeps the spelling it always had (``"1.0"`` or ``"1"``): Prometheus 2 stores ``le`` as
    written, so a dashboard that picks one bucket by its label would otherwise lose it.
    """
    return (*map(spell, bounds), "+Inf")


def histogram_family(
    name: str,
    documentation: str,
    le: Sequence[str],
    histograms: Iterable[tuple[Sequence[str], Histogram]],
    labels: Sequence[str] = (),
) -> HistogramMetricFamily:
    """One histogram series per ``(label values, histogram)``; ``le`` from :func:`bucket_labels`."""
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for values, histogram in histograms:
        running = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip(le, histogram.counts, strict=True):
            running += count
            buckets.append((bound, running))
        family.add_metric(values, buckets, histogram.total)
    return family


def counter(name: str, documentation: str, labels: Sequence[str], rows: Rows) -> CounterMetricFamily:
    """A counter family; ``name`` without ``_total``, which prometheus_client appends to each sample."""
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def gauge(name: str, documentation: str, labels: Sequence[str], rows: Rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family
