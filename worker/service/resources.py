"""What every serving process opens: the Redis client, the engine on the current dataset, the event loop.

Each is opened and closed in exactly one ``async with``; whoever opens one closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from worker import __version__
from worker.data.dataset import redis_store
from worker.data.dataset.redis_store import RedisSource
from worker.data.dataset.store import LocalStore
from worker.lookup.cache import MemoryCache, RedisCache
from worker.lookup.engine import LookupEngine
from worker.lookup.upstream.breaker import Breaker
from worker.lookup.upstream.budget import Budget
from worker.lookup.upstream.resolver import Upstreams, refreshing
from worker.lookup.upstream.sources import Source
from worker.lookup.upstream.stats import SourceState
from worker.lookup.upstream.store import SQLITE_FILE, RedisStore, SqliteStore, UpstreamStore
from worker.service.reload import DatasetSource, LocalSource, follow, switch_if_new
from worker.settings import Settings

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = 120.0  # seconds: a dataset version is a 100 MB value, far past a lookup's short timeout


@contextlib.asynccontextmanager
async def open_redis(settings: Settings, *, uploads: bool = False) -> AsyncIterator[Redis | None]:
    """The Redis client of ``settings`` (``None`` when no URL is configured); closed when the block exits.

    ``uploads=True`` is for the data commands: they move whole dataset versions, so they get a long socket
    timeout and redis-py's own retries; services get the short timeout and fail fast.
    """
    if not settings.redis.url:
        yield None
        return
    options: dict[str, Any] = {"socket_connect_timeout": settings.redis.timeout}
    if uploads:
        options["socket_timeout"] = UPLOAD_TIMEOUT
    else:
        options["socket_timeout"] = settings.redis.timeout
        options["health_check_interval"] = 10
        # One quick retry, no back-off: redis-py's default (3 retries with back-off) made every call to a
        # dead Redis cost seconds, and callers here treat a failure as "no Redis" and carry on.
        options["retry"] = Retry(NoBackoff(), 1)
    client = Redis.from_url(settings.redis.url, **options)
    try:
        yield client
    finally:
        await client.aclose()


def dataset_source(settings: Settings, redis: Redis | None, *, republish: bool = False) -> DatasetSource:
    """Redis names the version when configured (replicas download it); else the local data dir does.

    ``republish`` (serving processes): when Redis names no version (it restarted empty), publish the one
    served here again, over a client with the data commands' long timeouts.
    """
    store = LocalStore(settings.data_dir)
    if redis is None:
        return LocalSource(store)
    keep = settings.data.keep_versions

    async def restore(version: str) -> None:
        async with open_redis(settings, uploads=True) as uploads:
            assert uploads is not None
            if await redis_store.restore_current(uploads, settings.redis.prefix, store, version, keep=keep):
                log.warning(
                    "Redis named no current dataset version (restarted empty?): re-published %s", version
                )

    return RedisSource(
        redis, store, prefix=settings.redis.prefix, keep=keep, republish=restore if republish else None
    )


@contextlib.asynccontextmanager
async def open_engine(
    settings: Settings, redis: Redis | None, *, follow_updates: bool = True
) -> AsyncIterator[LookupEngine]:
    """An engine on the current dataset that keeps following new versions while the context is open."""
    shared = (
        RedisCache(redis, prefix=settings.redis.prefix, ttl=settings.redis.cache_ttl)
        if redis is not None and settings.redis.cache
        else None
    )
    # libphonenumber's metadata now, not on the first foreign call
    importlib.import_module("worker.lookup.foreign")
    async with open_upstreams(settings, redis) as upstream:
        memory = MemoryCache(ttl=settings.redis.cache_ttl)
        engine = LookupEngine(memory=memory, shared=shared, upstream=upstream)
        async with _following(settings, redis, engine, follow_updates):
            yield engine


@contextlib.asynccontextmanager
async def _following(
    settings: Settings, redis: Redis | None, engine: LookupEngine, follow_updates: bool
) -> AsyncIterator[None]:
    source = dataset_source(settings, redis, republish=follow_updates)
    await switch_if_new(source, engine)
    # Everything loaded so far (libphonenumber's ~130 MB of metadata objects) lives as long as the process:
    # moved out of the collector's sight, a full collection no longer walks it — that walk was a ~30 ms
    # pause of every request whenever a batch's allocations triggered one (bench/fairness.py).
    gc.freeze()
    if engine.dataset is None:
        log.warning("no dataset imported yet: Russian numbers answer from libphonenumber only")
    elif follow_updates:
        log.info(
            "serving dataset %s: %s",
            engine.version,
            engine.dataset.meta.describe(settings.data.stale_after_days),
        )
    follower = (
        asyncio.create_task(follow(source, engine, settings.data.reload_interval), name="dataset-follower")
        if follow_updates
        else None
    )
    try:
        yield
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower


def upstream_store(settings: Settings, redis: Redis | None) -> UpstreamStore:
    """Where upstream answers and learned ports are kept: Redis when configured, else the data dir."""
    ttl = settings.upstream.learned_ttl
    if redis is not None:
        return RedisStore(redis, prefix=settings.redis.prefix, learned_ttl=ttl)
    return SqliteStore(settings.data_dir / SQLITE_FILE, learned_ttl=ttl)


@contextlib.asynccontextmanager
async def open_upstreams(settings: Settings, redis: Redis | None) -> AsyncIterator[Upstreams | None]:
    """The upstream MNP sources of ``settings`` (``None`` when none is listed), their HTTP session, cache and
    background refresh; all closed when the block exits."""
    if not settings.upstreams:
        yield None
        return
    states = [
        SourceState(
            Source(source),
            Budget(
                source.name or source.kind, source.budget, source.burst, redis, prefix=settings.redis.prefix
            ),
            Breaker(source.breaker_failures, source.breaker_reset),
        )
        for source in settings.upstreams
    ]
    names = ", ".join(f"{state.name} ({state.source.settings.url})" for state in states)
    log.info("upstream MNP sources: %s; mobile numbers local MNP data does not cover are sent to them", names)
    store = upstream_store(settings, redis)
    connector = aiohttp.TCPConnector(limit=64, ttl_dns_cache=300)
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": f"numlookup/{__version__}"}
            ) as session,
            refreshing(Upstreams(settings.upstream, states, store, session)) as upstreams,
        ):
            yield upstreams
    finally:
        if isinstance(store, SqliteStore):
            store.close()


def run_event_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` on uvloop when it is installed (about a third more requests per second)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event | None = None) -> Iterator[asyncio.Event]:
    """Set ``stop`` (a new event if none) on SIGTERM or SIGINT during the block; handlers removed after."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
