"""Reading ``/metrics`` as Prometheus does, and the series users' dashboards rely on.

The two tables are the contract: every name, type and label set listed here must come out of the API's
exposition and the AMI worker's, spelled exactly so (``numlookup run`` serves both on one ``/metrics``).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = dict[str, tuple[str, frozenset[str]]]  # sample name (a histogram's family name) → type, labels


def labels(*names: str) -> frozenset[str]:
    return frozenset(names)


API_SERIES: Series = {
    "numlookup_http_requests_total": ("counter", labels("pid", "route", "status")),
    "numlookup_http_request_duration_seconds": ("histogram", labels("pid", "route")),
    "numlookup_cache_hits_total": ("counter", labels("pid", "cache")),
    "numlookup_cache_misses_total": ("counter", labels("pid", "cache")),
    "numlookup_rate_limited_total": ("counter", labels("pid")),
    "numlookup_redis_up": ("gauge", labels("pid")),  # only when Redis is configured
    "numlookup_dataset_info": ("gauge", labels("pid", "version")),
    "numlookup_dataset_age_seconds": ("gauge", labels("pid", "version")),
}

AMI_SERIES: Series = {
    "numlookup_ami_events_total": ("counter", labels()),
    "numlookup_ami_answers_total": ("counter", labels("status")),
    "numlookup_ami_unanswered_total": ("counter", labels("reason")),
    "numlookup_ami_claim_errors_total": ("counter", labels()),
    "numlookup_ami_answer_seconds": ("histogram", labels()),
    "numlookup_fastagi_sessions_total": ("counter", labels()),
    "numlookup_fastagi_answers_total": ("counter", labels("status")),
    "numlookup_fastagi_aborted_total": ("counter", labels()),
    "numlookup_ami_connected": ("gauge", labels("server")),
    "numlookup_ami_reconnects_total": ("counter", labels("server")),
    "numlookup_ami_login_failures_total": ("counter", labels("server")),
    "numlookup_ami_watchdog_timeouts_total": ("counter", labels("server")),
    "numlookup_ami_dropped_actions_total": ("counter", labels("server")),
}

# with upstream MNP sources configured (docs/upstreams.md), on the API's /metrics besides API_SERIES
UPSTREAM_SERIES: Series = {
    "numlookup_upstream_requests_total": ("counter", labels("pid", "source", "outcome")),
    "numlookup_upstream_errors_total": ("counter", labels("pid", "source")),
    "numlookup_upstream_request_duration_seconds": ("histogram", labels("pid", "source")),
    "numlookup_upstream_budget_left": ("gauge", labels("pid", "source")),
    "numlookup_upstream_budget_spent_total": ("counter", labels("pid", "source")),
    "numlookup_upstream_breaker_state": ("gauge", labels("pid", "source")),
    "numlookup_upstream_cache_lookups_total": ("counter", labels("pid", "result")),
    "numlookup_upstream_coalesced_total": ("counter", labels("pid")),
    "numlookup_upstream_late_total": ("counter", labels("pid")),
    "numlookup_upstream_refresh_queue": ("gauge", labels("pid")),
    "numlookup_upstream_refresh_dropped_total": ("counter", labels("pid")),
}


def series(text: str) -> Series:
    """Every series that has a sample in ``text``: its sample name (a histogram's family name), type, labels.

    A histogram counts only when its ``_bucket``, ``_count`` and ``_sum`` samples all came out.
    """
    found: Series = {}
    for family in text_string_to_metric_families(text):
        names = {sample.name for sample in family.samples}
        if family.type == "histogram":
            if names >= {f"{family.name}_{part}" for part in ("bucket", "count", "sum")}:
                count = next(s for s in family.samples if s.name == f"{family.name}_count")
                found[family.name] = (family.type, frozenset(count.labels))
            continue
        for sample in family.samples:
            found[sample.name] = (family.type, frozenset(sample.labels))
    return found


def sample(text: str, name: str, **wanted: str) -> float:
    """The value of the one sample called ``name`` whose labels include ``wanted``."""
    values = [
        found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == name and wanted.items() <= found.labels.items()
    ]
    assert len(values) == 1, f"{len(values)} samples {name} {wanted} in\n{text}"
    return values[0]
