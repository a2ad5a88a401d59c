"""Redis going away under the upstream side: its cache, claims and budget degrade, no lookup fails, and it
all comes back with Redis. A ``redis-server`` of this test's own, so stopping it disturbs nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.test_redis_outage import RedisServer, free_port, pytestmark  # noqa: F401 (skip without redis-server)
from tests.upstream.conftest import upstream_engine, upstream_settings
from tests.upstream.fake_voxlink import FakeVoxlink
from worker.answer.model import RussianAnswer
from worker.data.dataset.format import Dataset
from worker.service.resources import open_redis


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    await server.start()
    yield server
    await server.stop()


async def test_upstream_lookups_survive_redis_going_away(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, redis_server: RedisServer
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 100, "burst": 10}, failure_ttl=1)
    settings.redis.url = f"redis://127.0.0.1:{redis_server.port}/0"
    async with open_redis(settings) as redis, upstream_engine(settings, dataset, redis) as engine:
        first = await engine.lookup("79170000123")
        assert isinstance(first, RussianAnswer)
        assert first.source == "upstream"
        await redis_server.stop()
        during = [await engine.lookup(f"7917000{n:04d}") for n in range(200, 205)]
        # the budget counts in this process meanwhile, and the upstream still answers
        assert {answer.source for answer in during if isinstance(answer, RussianAnswer)} == {"upstream"}
        assert (await engine.lookup("79170000123")).source == "cache"  # the in-process LRU
        await redis_server.start()
        after = await engine.lookup("79170000300")
        assert isinstance(after, RussianAnswer)
        assert after.source == "upstream"
        assert engine.upstream is not None
        assert await engine.upstream.store.get("79170000300") is not None  # written to Redis again
