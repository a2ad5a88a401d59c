"""What every serving process opens: the Redis client, the engine on the current dataset, the event loop.

Each is opened and closed in exactly one ``async with``; whoever opens one closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import itertools
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, cast

import aiohttp
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from worker import __version__
from worker.answer.calling import CallingWindow, Clock, Hours
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
from worker.service.reload import (
    DatasetSource,
    LocalSource,
    follow,
    stop_if_cancel_was_swallowed,
    switch_if_new,
)
from worker.settings import RedisSettings, Settings

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = 120.0  # seconds: a dataset version is a 100 MB value, far past a lookup's short timeout


@contextlib.asynccontextmanager
async def open_redis(settings: Settings, *, uploads: bool = False) -> AsyncIterator[Redis | None]:
    """The Redis client of ``settings`` (``None`` when Redis is not configured); closed when the block exits.

    The only place numlookup makes Redis clients: a plain one for ``redis.url``, redis-py's Sentinel client
    for ``redis.sentinels`` (it asks the sentinels for the master and follows it across failovers), or its
    Cluster client for ``redis.cluster`` (it routes each key to the node that owns its slot).

    ``uploads=True`` is for the data commands: they move whole dataset versions, so they get a long socket
    timeout and redis-py's own retries; services get the short timeout and fail fast.
    """
    redis = settings.redis
    if not redis.configured:
        yield None
        return
    options: dict[str, Any] = {"socket_connect_timeout": redis.timeout}
    if uploads:
        options["socket_timeout"] = UPLOAD_TIMEOUT
    else:
        options["socket_timeout"] = redis.timeout
        options["health_check_interval"] = 10
        # One quick retry, no back-off: redis-py's default (3 retries with back-off) made every call to a
        # dead Redis cost seconds, and callers here treat a failure as "no Redis" and carry on. After a
        # Sentinel failover that one retry is what reconnects to the new master.
        options["retry"] = Retry(NoBackoff(), 1)
    if redis.sentinels:
        async with _sentinel_master(redis, options) as client:
            yield client
        return
    assert redis.url is not None  # configured without sentinels
    # RedisCluster has every command numlookup sends (pipelines split by node, PUBLISH reaches every node),
    # and keys used together share a hash tag, so the rest of numlookup treats it as a Redis.
    client = (
        cast(Redis, RedisCluster.from_url(redis.url, **options))
        if redis.cluster
        else Redis.from_url(redis.url, **options)
    )
    try:
        yield client
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def _sentinel_master(redis: RedisSettings, options: dict[str, Any]) -> AsyncIterator[Redis]:
    """The master of ``redis.service`` through redis-py's Sentinel; ``redis.url`` may add db and password."""
    credentials = (
        {key: value for key, value in parse_url(redis.url).items() if key in ("db", "username", "password")}
        if redis.url
        else {}
    )
    timeouts = {"socket_timeout": redis.timeout, "socket_connect_timeout": redis.timeout}
    addresses = redis.sentinel_addresses()
    sentinel = Sentinel(addresses, sentinel_kwargs=timeouts, **options, **credentials)  # type: ignore[no-untyped-call]
    client = sentinel.master_for(redis.service, connection_pool_class=FailoverPool)
    pool = cast(FailoverPool, client.connection_pool)
    switches = asyncio.create_task(_follow_switches(sentinel.sentinels, pool), name="sentinel-switches")
    try:
        yield client
    finally:
        switches.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await switches
        await client.aclose()
        for each in sentinel.sentinels:
            await each.aclose()


class FailoverPool(SentinelConnectionPool):
    """redis-py's Sentinel pool, saying once when the master moved, and able to move every connection."""

    _known: Any = None  # the master last seen; many connections reconnect at once, one of them says it

    async def get_master_address(self) -> Any:
        address = await super().get_master_address()  # type: ignore[no-untyped-call]
        before, self._known = self._known, address
        if before is not None and address != before:
            log.warning("Redis master %s moved from %s:%s to %s:%s", self.service_name, *before, *address)
        return address

    async def ensure_connection(self, connection: Any) -> None:
        """Connected, and to the master last announced: a connection that was connecting while the master
        moved (it had asked before the move) would otherwise keep talking to the old one."""
        await super().ensure_connection(connection)
        if self._known is not None and (connection.host, connection.port) != tuple(self._known):
            await connection.disconnect()
            await connection.connect()

    async def switch(self) -> None:
        """The sentinels announced a new master: close every connection, so each reconnects to it."""
        await self.get_master_address()
        await self.disconnect(inuse_connections=True)  # a command in flight fails over by its one retry


async def _follow_switches(sentinels: list[Redis], pool: FailoverPool) -> None:
    """Move to a new master the moment the sentinels announce it (``+switch-master``).

    redis-py asks the sentinels for the master only when a connection breaks, and after ``SENTINEL FAILOVER``
    the old master stays up and takes writes until the sentinels demote it, about ten seconds later: without
    this, replicas would keep counting and claiming there while their peers use the new one.
    """
    for attempt in itertools.count():
        sentinel = sentinels[attempt % len(sentinels)]  # the next one when one is unreachable
        try:
            async with sentinel.pubsub() as pubsub:
                await pubsub.subscribe("+switch-master")
                await pool.get_master_address()  # anything announced while not subscribed
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    stop_if_cancel_was_swallowed()
                    if message is not None and message["data"].split()[0].decode() == pool.service_name:
                        await pool.switch()
        except (RedisError, OSError) as error:
            log.debug("sentinel %s: %s", sentinel, error)
        await asyncio.sleep(1.0)


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


def calling_clock(settings: Settings) -> Clock:
    """The system clock with the calling window of ``settings.calling``."""
    calling = settings.calling
    window = CallingWindow(
        working=Hours.parse(calling.working_hours),
        weekend=Hours.parse(calling.weekend_hours),
        weekend_days=frozenset(day - 1 for day in calling.weekend_days),
        holidays=frozenset((int(day[:2]), int(day[3:])) for day in calling.holidays),
        holiday_dates=frozenset(calling.holiday_dates),
        working_dates=frozenset(calling.working_dates),
    )
    return Clock(window)


@contextlib.asynccontextmanager
async def open_engine(
    settings: Settings, redis: Redis | None, *, follow_updates: bool = True, preload: bool = True
) -> AsyncIterator[LookupEngine]:
    """An engine on the current dataset that keeps following new versions while the context is open.

    ``preload``: load libphonenumber's metadata now (~120 MB), not on the first foreign number; services
    do, so that no request waits for it; ``numlookup enrich`` does not, as a file may hold none."""
    shared = (
        RedisCache(redis, prefix=settings.redis.prefix, ttl=settings.redis.cache_ttl)
        if redis is not None and settings.redis.cache
        else None
    )
    if preload:  # libphonenumber's metadata now, not on the first foreign call
        importlib.import_module("worker.lookup.foreign")
    async with open_upstreams(settings, redis) as upstream:
        memory = MemoryCache(ttl=settings.redis.cache_ttl)
        clock = calling_clock(settings)
        engine = LookupEngine(memory=memory, shared=shared, upstream=upstream, clock=clock)
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
