"""``GET /health``: what an operator or a balancer needs to know about this process.

The answer is always 200 while the process serves lookups; ``status`` says ``degraded`` when something it
normally has is missing (no dataset, Redis configured but unreachable, the AMI worker not connected), so a
Redis outage does not make a balancer drop every replica at once, and ``warning`` when all is there but the
registry is older than ``data.stale_after_days`` (time to import or update it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from prometheus_client.core import Metric
from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.lookup.engine import LookupEngine


@runtime_checkable
class AmiState(Protocol):
    """What the AMI worker exposes when it runs in the same process as the API (``numlookup run``).

    ``health()`` returns JSON-ready data, shown under ``"ami"``; an ``"ok": False`` (or ``"connected":
    False``) entry marks the service degraded.
    """

    def health(self) -> Mapping[str, object]: ...


@runtime_checkable
class AmiMetrics(Protocol):
    """Optional: the AMI worker as a prometheus_client collector, registered with the API's ``/metrics``.

    ``collect()`` is called on every scrape and yields the worker's metric families.
    """

    def collect(self) -> Iterable[Metric]: ...


async def redis_reachable(redis: Redis, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return bool(await redis.ping())
    except (RedisError, OSError, TimeoutError):
        return False


async def report(
    engine: LookupEngine,
    redis: Redis | None,
    ami: AmiState | None,
    *,
    redis_timeout: float,
    stale_after_days: int = 30,
) -> dict[str, object]:
    healthy = True
    stale = False
    dataset = engine.dataset
    dataset_part: dict[str, object] | None = None
    if dataset is None:
        healthy = False
    else:
        meta = dataset.meta
        stale = meta.is_stale(stale_after_days)
        dataset_part = {
            "version": meta.version,
            "created": meta.created.isoformat(),
            "age_seconds": round(meta.age_seconds),
            "ranges": meta.ranges,
            "ported": meta.ported,
            "source": meta.source,
            "published": meta.registry_date.isoformat(),
            "age_days": meta.age_days(),
            "stale": stale,
        }
    redis_part: dict[str, object] = {"configured": redis is not None}
    if redis is not None:
        reachable = await redis_reachable(redis, redis_timeout)
        redis_part["reachable"] = reachable
        healthy = healthy and reachable
    ami_part: dict[str, object] | None = None
    if ami is not None:
        ami_part = dict(ami.health())
        healthy = (
            healthy and ami_part.get("ok", True) is not False and ami_part.get("connected", True) is not False
        )
    body: dict[str, object] = {
        "status": "degraded" if not healthy else "warning" if stale else "ok",
        "dataset": dataset_part,
        "redis": redis_part,
        "ami": ami_part,
        "pid": os.getpid(),
    }
    if engine.upstream is not None:  # an open breaker is not "degraded": lookups answer from local data
        body["upstreams"] = engine.upstream.health()
    return body
