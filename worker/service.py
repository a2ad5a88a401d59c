"""The composition root: builds every settings-driven resource in one ``AsyncExitStack`` and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from worker.cache import MemoryCache, RedisCache
from worker.data.redis_store import RedisSource
from worker.data.source import DatasetSource, LocalSource, follow, switch_if_new
from worker.data.store import LocalStore
from worker.engine import LookupEngine
from worker.settings import Settings

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis | None]:
    """The one Redis client of a process, or ``None`` when no URL is configured."""
    if not settings.redis.url:
        yield None
        return
    client = Redis.from_url(
        settings.redis.url,
        socket_timeout=settings.redis.timeout,
        socket_connect_timeout=settings.redis.timeout,
        health_check_interval=10,
        # One quick retry, no back-off: redis-py's default (3 retries with back-off) made every call to a
        # dead Redis cost seconds, and callers here treat a failure as "no Redis" and carry on.
        retry=Retry(NoBackoff(), 1),
    )
    try:
        yield client
    finally:
        await client.aclose()


def dataset_source(settings: Settings, redis: Redis | None) -> DatasetSource:
    """Redis names the version when configured (replicas download it); else the local data dir does."""
    store = LocalStore(settings.data_dir)
    if redis is None:
        return LocalSource(store)
    return RedisSource(redis, store, prefix=settings.redis.prefix, keep=settings.data.keep_versions)


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
    importlib.import_module("worker.intl")  # libphonenumber's metadata now, not on the first foreign call
    engine = LookupEngine(memory=MemoryCache(ttl=settings.redis.cache_ttl), shared=shared)
    source = dataset_source(settings, redis)
    await switch_if_new(source, engine)
    if engine.dataset is None:
        log.warning("no dataset imported yet: Russian numbers answer from libphonenumber only")
    elif follow_updates:
        log.info("serving dataset %s", engine.version)
    follower = (
        asyncio.create_task(follow(source, engine, settings.data.reload_interval), name="dataset-follower")
        if follow_updates
        else None
    )
    try:
        yield engine
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[asyncio.Event]:
    """Set ``stop`` on SIGTERM or SIGINT while the block runs (the loop's handlers, removed after)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
