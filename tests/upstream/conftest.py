"""Upstream fixtures: a fake num.voxlink.ru on a real socket, and an engine that asks it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.ami.fake_asterisk import FakeAsterisk
from tests.upstream.fake_voxlink import FakeVoxlink
from worker.data.dataset.format import Dataset
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_upstreams
from worker.settings import Settings

# the talk's first example, on the small dataset's ranges: 79000000000 is Т2's, now МТС's
PORTED = {"79000000000": ("МТС", "Т2"), "79170000123": ("МегаФон", "МТС")}


@pytest.fixture
async def voxlink() -> AsyncIterator[FakeVoxlink]:
    fake = FakeVoxlink(ported=dict(PORTED))
    await fake.start()
    yield fake
    await fake.stop()


def upstream_settings(
    data_dir: Path, url: str, *, source: dict[str, Any] | None = None, **upstream: Any
) -> Settings:
    return Settings(
        data_dir=data_dir,
        upstreams=[{"kind": "voxlink", "url": url, "rate": 8, "timeout": 1.0, **(source or {})}],
        upstream=upstream,
    )


@contextlib.asynccontextmanager
async def upstream_engine(
    settings: Settings, dataset: Dataset, redis: Redis | None = None
) -> AsyncIterator[LookupEngine]:
    async with open_upstreams(settings, redis) as upstream:
        yield LookupEngine(dataset, upstream=upstream)


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk(channels=set())
    await server.start()
    yield server
    await server.stop()
