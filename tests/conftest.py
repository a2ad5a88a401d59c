"""Shared fixtures: a small hand-made dataset, an engine on it, and Redis (fakeredis and a real server)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import numpy as np
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.answer.calling import Clock
from worker.answer.model import Operator
from worker.data.dataset.format import RANGE_DTYPE, Dataset, Meta, line_type_for_code
from worker.data.dataset.store import LocalStore
from worker.data.dataset.writer import new_version, write_dataset
from worker.lookup.engine import LookupEngine

REAL_REDIS_URL = os.environ.get("NUMLOOKUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

MTS = Operator("7740000076", 'ПАО "МТС"', "МТС")
T2 = Operator("7743895280", 'ООО "Т2 Мобайл"', "Т2")
MEGAFON = Operator("7812014560", 'ПАО "МегаФон"', "МегаФон")
ROSTELECOM = Operator("7707049388", 'ПАО "Ростелеком"', "Ростелеком")
OPERATORS = [MTS, T2, MEGAFON, ROSTELECOM]
REGIONS = ["Республика Башкортостан", "Краснодарский край", "г. Москва", "Ростовская область"]

# (national start, national end, operator index, region index)
RANGES = [
    (9000000000, 9000061999, 1, 1),
    (9000062000, 9000062999, 1, 3),
    (9170000000, 9170999999, 0, 0),
    (9261000000, 9261999999, 2, 2),
    (4959890000, 4959899999, 3, 2),
]
# national number → recipient operator index
PORTED = {9000000000: 0, 9261234567: 0, 9170000001: 2}


def build_small_dataset(directory: Path, version: str | None = None, created: datetime | None = None) -> str:
    """Write the hand-made dataset into ``directory`` (made ``created``, default now); return its version."""
    version = version or new_version()
    ranges = np.array(
        [
            (start, end, op, region, line_type_for_code(start // 10_000_000), 0)
            for start, end, op, region in RANGES
        ],
        dtype=RANGE_DTYPE,
    )
    write_dataset(
        directory,
        meta=Meta(
            version, created or datetime.now(UTC), len(RANGES), len(PORTED), len(OPERATORS), ["hand-made"]
        ),
        operators=OPERATORS,
        regions=REGIONS,
        ranges=ranges,
        ported_numbers=np.array(list(PORTED), dtype=np.uint64),
        ported_operators=np.array(list(PORTED.values()), dtype=np.uint16),
    )
    return version


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir whose embedded store serves the small dataset."""
    store = LocalStore(tmp_path / "data")
    scratch = store.scratch()
    version = build_small_dataset(scratch)
    store.publish(scratch, version)
    return store.root


@pytest.fixture
def dataset(data_dir: Path) -> Dataset:
    return LocalStore(data_dir).open()


# A fixed "now" for every answer the shared engine renders, so local times compare exactly:
# Thursday 3 December 2026, 12:00 in Moscow.
FIXED_NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FIXED_CLOCK = Clock(now=lambda: FIXED_NOW)


@pytest.fixture
def engine(dataset: Dataset) -> LookupEngine:
    return LookupEngine(dataset, clock=FIXED_CLOCK)


async def real_redis() -> Redis:
    """A client of the real test server, answering; the test is skipped without one, except in CI."""
    client = Redis.from_url(REAL_REDIS_URL)
    try:
        await client.ping()
    except OSError as error:  # CI always has one (.ci/run starts it); a laptop may not
        await client.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REAL_REDIS_URL}: {error}")
    return client


def real_redis_sync() -> SyncRedis:
    """:func:`real_redis` for a synchronous test (one that runs the CLI in subprocesses)."""
    client = SyncRedis.from_url(REAL_REDIS_URL)
    try:
        client.ping()
    except (RedisError, OSError) as error:
        client.close()
        if os.environ.get("CI"):  # CI always has one (.ci/run starts it)
            raise
        pytest.skip(f"no Redis at {REAL_REDIS_URL}: {error}")
    return client


@pytest.fixture(params=["fakeredis", "real"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """An empty Redis database: fakeredis for the fast loop, a real server for what CI proves."""
    if request.param == "fakeredis":
        client: Redis = fakeredis.FakeAsyncRedis()
    else:
        client = await real_redis()
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
