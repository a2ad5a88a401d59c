"""Push reloads: replicas hear of a new version on the version channel and switch within a fraction of a
second, with polling far too slow to explain it; polling still finds what no message announced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import REAL_REDIS_URL, build_small_dataset, real_redis
from worker.data.dataset import redis_store
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_engine, open_redis
from worker.settings import DataSettings, RedisSettings, Settings

PUSH_WITHIN = 0.5  # seconds from the publication to the last of three replicas serving it


@pytest.fixture
async def shared() -> AsyncIterator[tuple[Redis, str]]:
    """The test Redis and a prefix of this test's own."""
    client = await real_redis()
    prefix = f"push-{os.getpid()}-{time.monotonic_ns()}"
    yield client, prefix
    for pattern in (f"{prefix}:*", f"{{{prefix}:*"):
        async for key in client.scan_iter(match=pattern):
            await client.delete(key)
    await client.aclose()


def new_version(store: LocalStore, version: str) -> Path:
    scratch = store.scratch()
    build_small_dataset(scratch, version=version)
    return store.publish(scratch, version, keep=3)


@contextlib.asynccontextmanager
async def replicas(
    root: Path, prefix: str, interval: float, count: int = 3
) -> AsyncIterator[list[LookupEngine]]:
    async with contextlib.AsyncExitStack() as stack:
        engines = []
        for index in range(count):
            settings = Settings(
                data_dir=root / f"replica{index}",
                redis=RedisSettings(url=REAL_REDIS_URL, prefix=prefix),
                data=DataSettings(reload_interval=interval),
            )
            redis = await stack.enter_async_context(open_redis(settings))
            engines.append(await stack.enter_async_context(open_engine(settings, redis)))
        yield engines


async def subscribers(redis: Redis, prefix: str, count: int) -> None:
    async with asyncio.timeout(5):
        while (await redis.pubsub_numsub(Keys(prefix).channel))[0][1] < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def serving(engines: list[LookupEngine], version: str) -> None:
    """Until every engine serves ``version``: nothing announces it, so look every 2 ms (5 s at most)."""
    async with asyncio.timeout(5):
        while any(engine.version != version for engine in engines):  # noqa: ASYNC110
            await asyncio.sleep(0.002)


async def test_a_published_version_reaches_three_replicas_within_half_a_second(
    shared: tuple[Redis, str], tmp_path: Path
) -> None:
    redis, prefix = shared
    importer = LocalStore(tmp_path / "importer")
    await redis_store.publish(redis, prefix, new_version(importer, "20990101T000000000001Z"), keep=3)
    async with replicas(tmp_path, prefix, interval=60.0) as engines:  # a poll would come a minute late
        assert {engine.version for engine in engines} == {"20990101T000000000001Z"}
        await subscribers(redis, prefix, 3)
        for version in ("20990101T000000000002Z", "20990101T000000000003Z"):
            directory = new_version(importer, version)
            started = time.monotonic()
            await redis_store.publish(redis, prefix, directory, keep=3)
            await serving(engines, version)
            took = time.monotonic() - started
            print(f"{version} served by three replicas {took * 1000:.0f} ms after publish() began")
            assert took <= PUSH_WITHIN
        # a rollback moves the pointer back to a version Redis has: announced the same way
        started = time.monotonic()
        await redis_store.make_current(redis, prefix, importer, "20990101T000000000002Z", keep=3)
        await serving(engines, "20990101T000000000002Z")
        assert time.monotonic() - started <= PUSH_WITHIN


async def test_polling_finds_a_version_no_message_announced(
    shared: tuple[Redis, str], tmp_path: Path
) -> None:
    redis, prefix = shared
    importer = LocalStore(tmp_path / "importer")
    await redis_store.publish(redis, prefix, new_version(importer, "20990101T000000000001Z"), keep=3)
    await redis_store.publish(redis, prefix, new_version(importer, "20990101T000000000002Z"), keep=3)
    async with replicas(tmp_path, prefix, interval=0.2, count=1) as (engine,):
        assert engine.version == "20990101T000000000002Z"
        await subscribers(redis, prefix, 1)
        await redis.set(Keys(prefix).current, "20990101T000000000001Z")  # moved, and nobody told
        await serving([engine], "20990101T000000000001Z")
