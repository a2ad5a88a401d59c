"""A Redis that restarts empty: the replicas put the version they serve back, so every replica (and any new
one) agrees on one version again, and the next import reaches them all. A real ``redis-server`` of this test's
own, stopped and started again on the same port with nothing in it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.api.test_redis_outage import RedisServer, free_port, pytestmark  # noqa: F401 - skip without it
from tests.data.conftest import FIXTURES, REAL_DEF
from worker.cli.main import main
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_engine, open_redis
from worker.settings import DataSettings, RedisSettings, Settings

PREFIX = "restart"


def settings_for(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        redis=RedisSettings(url=url, prefix=PREFIX),
        data=DataSettings(reload_interval=0.1),
    )


@contextlib.asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[LookupEngine]:
    async with open_redis(settings) as redis, open_engine(settings, redis) as engine:
        yield engine


async def until(condition: Callable[[], object], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition() if asyncio.iscoroutinefunction(condition) else not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def cli_import(data_dir: Path, url: str, *paths: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", url)
    monkeypatch.setenv("NUMLOOKUP_REDIS__PREFIX", PREFIX)
    status = await asyncio.to_thread(main, ["--data-dir", str(data_dir), "data", "import", *map(str, paths)])
    assert status == 0
    version = LocalStore(data_dir).current_version()
    assert version is not None
    return version


async def test_replicas_put_their_version_back_into_a_redis_restarted_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = RedisServer(free_port())
    await server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    client = Redis.from_url(url)
    try:
        first = await cli_import(tmp_path / "importer", url, FIXTURES, monkeypatch=monkeypatch)
        async with (
            replica(settings_for(tmp_path / "b", url)) as b,
            replica(settings_for(tmp_path / "c", url)) as c,
        ):
            assert (b.version, c.version) == (first, first)
            await server.stop()
            await server.start()  # the same port, nothing in it
            await client.aclose()
            client = Redis.from_url(url)

            async def restored() -> bool:
                with contextlib.suppress(OSError):
                    return await client.get(Keys(PREFIX).current) == first.encode()
                return False

            await until(restored)
            assert await client.get(Keys(PREFIX).manifest(first)) is not None
            async with replica(settings_for(tmp_path / "d", url)) as d:  # a new replica finds it there
                assert d.version == first
                second = await cli_import(
                    tmp_path / "importer", url, FIXTURES, REAL_DEF, monkeypatch=monkeypatch
                )
                await until(lambda: (b.version, c.version, d.version) == (second, second, second))
    finally:
        await client.aclose()
        await server.stop()
