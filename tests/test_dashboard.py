"""The Grafana dashboard in config/grafana/ asks only for series numlookup exports, by labels they carry."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from worker.api.metrics import HttpCollector, Merged, Metrics
from worker.api.ratelimit import RateLimiter
from worker.asterisk.stats import HandlerStats
from worker.lookup.cache import MemoryCache
from worker.lookup.engine import LookupEngine

DASHBOARD = Path(__file__).resolve().parents[1] / "config" / "grafana" / "numlookup.json"
SERIES = re.compile(r"\bnumlookup_[a-z0-9_]+")
BY = re.compile(r"\bby \(([^)]*)\)")


def queries(node: Any) -> Iterator[str]:
    """Every PromQL string of the dashboard: panel targets and template variables."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query") and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def exported(engine: LookupEngine) -> tuple[set[str], set[str]]:
    """Sample names and label names of everything the API and the AMI worker export, each series once seen."""
    stats = Metrics()
    stats.observe("v1", 200, 0.001)
    http = HttpCollector(stats, engine, RateLimiter(10))
    http.redis_up = True
    ami = HandlerStats()
    ami.answers["OK"] += 1
    ami.agi_answers["OK"] += 1
    ami.latency.observe(0.001)
    registry = CollectorRegistry()
    registry.register(http)
    registry.register(Merged(ami.collect()))  # the worker registers itself, not its (unhashable) stats
    names, labels = set(), {"job", "instance"}  # the two Prometheus adds to every series
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            names.add(sample.name)
            labels.update(sample.labels)
    return names, labels


def test_every_series_the_dashboard_queries_is_exported(engine: LookupEngine) -> None:
    engine.memory = MemoryCache()
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["panels"]
    names, labels = exported(engine)
    asked = [query for query in queries(dashboard) if "numlookup_" in query]
    assert len(asked) >= len(dashboard["panels"])
    for query in asked:
        missing = set(SERIES.findall(query)) - names
        assert not missing, f"{query}: not exported: {missing}"
        grouped = {label.strip() for group in BY.findall(query) for label in group.split(",")}
        assert grouped <= labels, f"{query}: no such label: {grouped - labels}"
    every = {name for query in asked for name in SERIES.findall(query)}
    wanted = {name for name in names if not name.endswith(("_bucket", "_sum", "_count"))}
    assert wanted - every <= {"numlookup_http_request_duration_seconds", "numlookup_ami_answer_seconds"}
