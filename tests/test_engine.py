from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import MEGAFON, MTS, T2, build_small_dataset
from worker.answer.model import ForeignAnswer, NotFound, RussianAnswer
from worker.data.dataset.format import Dataset
from worker.errors import InvalidNumber
from worker.lookup.cache import MemoryCache, RedisCache
from worker.lookup.engine import LookupEngine


def test_russian_number_answers_from_the_registry(engine: LookupEngine) -> None:
    answer = engine.lookup_now("8 (917) 041-55-64")
    assert isinstance(answer, RussianAnswer)
    assert answer.operator == MTS
    assert answer.old_operator is None
    assert answer.allocation.region == "Республика Башкортостан"


def test_ported_number_answers_the_recipient_and_the_range_holder(engine: LookupEngine) -> None:
    answer = engine.lookup_now("+79000000000")
    assert isinstance(answer, RussianAnswer)
    assert (answer.operator, answer.old_operator) == (MTS, T2)
    neighbour = engine.lookup_now("+79000000001")
    assert isinstance(neighbour, RussianAnswer)
    assert (neighbour.operator, neighbour.old_operator) == (T2, None)


def test_range_edges(engine: LookupEngine) -> None:
    first = engine.lookup_now("79261000000")
    last = engine.lookup_now("79261999999")
    assert isinstance(first, RussianAnswer)
    assert isinstance(last, RussianAnswer)
    assert first.operator == last.operator == MEGAFON
    outside = engine.lookup_now("79262000000")
    assert not isinstance(outside, RussianAnswer)


def test_russian_number_outside_every_range_falls_back_to_libphonenumber(engine: LookupEngine) -> None:
    answer = engine.lookup_now("79990000000")
    assert isinstance(answer, ForeignAnswer)
    assert answer.region_iso == "RU"


def test_foreign_and_unknown_numbers(engine: LookupEngine) -> None:
    assert isinstance(engine.lookup_now("358181201235"), ForeignAnswer)
    assert engine.lookup_now("0") == NotFound("0")
    with pytest.raises(InvalidNumber):
        engine.lookup_now("a79000000000")


def test_no_dataset_still_answers_every_country() -> None:
    engine = LookupEngine()
    answer = engine.lookup_now("79170415564")
    assert isinstance(answer, ForeignAnswer)
    assert answer.destination == "Russia"
    assert engine.version == "none"


def test_switching_datasets_is_one_assignment(engine: LookupEngine, tmp_path: Path) -> None:
    before = engine.version
    build_small_dataset(tmp_path / "next", version="20990101T000000000000Z")
    previous = engine.use(Dataset(tmp_path / "next"))
    assert previous is not None
    assert previous.version == before
    assert engine.version == "20990101T000000000000Z"


async def test_foreign_answers_are_cached_in_process_and_in_redis(redis: Redis, dataset: Dataset) -> None:
    shared = RedisCache(redis, prefix="test", ttl=60)
    first = LookupEngine(dataset, memory=MemoryCache(), shared=shared)
    answer = await first.lookup("+358181201235")
    assert shared.misses == 1
    assert await redis.exists(f"test:answer:{dataset.version}:358181201235")
    second = LookupEngine(dataset, memory=MemoryCache(), shared=shared)  # another replica
    assert await second.lookup("358181201235") == answer
    assert shared.hits == 1
    assert await second.lookup("358181201235") == answer
    assert second.memory.hits == 1


async def test_redis_failure_is_a_miss_not_a_failed_lookup(
    dataset: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    shared = RedisCache(dead, ttl=60)
    engine = LookupEngine(dataset, shared=shared)
    answer = await engine.lookup("12025550123")
    assert isinstance(answer, ForeignAnswer)
    assert shared.errors == 2  # the get and the set
    assert sum("answer cache unavailable" in record.message for record in caplog.records) == 1
    await dead.aclose()


async def test_russian_answers_skip_the_caches(redis: Redis, dataset: Dataset) -> None:
    shared = RedisCache(redis, ttl=60)
    engine = LookupEngine(dataset, shared=shared)
    assert isinstance(await engine.lookup("79170415564"), RussianAnswer)
    assert shared.hits == shared.misses == 0
    assert await redis.dbsize() == 0


def test_registry_answer_never_asks_libphonenumber_for_a_russian_number(engine: LookupEngine) -> None:
    """What v1 asks: the registry, else NotFound, for a Russian number (a 404 in v1 anyway, ~60 µs saved);
    a foreign number gets its full answer, by which v1 says "not Russian" rather than "malformed"."""
    assert isinstance(engine.registry_answer("74959898533"), RussianAnswer)
    assert engine.registry_answer("79990000000") == NotFound("79990000000")
    assert engine.memory.misses == engine.memory.hits == 0  # nothing was computed, nothing looked up
    assert isinstance(engine.registry_answer("+358181201235"), ForeignAnswer)
    with pytest.raises(InvalidNumber):
        engine.registry_answer("x")


@pytest.mark.parametrize(
    "raw",
    ["79170415564", "89170415564", "79261234567", "79000000000", "74959898533", "79990000000", "77012345678",
     "9170415564", "+79170415564", "7917041556", "358181201235", "7917041556x"],
)  # fmt: skip
def test_registry_found_is_registry_answer_when_that_is_the_dataset_s(engine: LookupEngine, raw: str) -> None:
    try:
        answer = engine.registry_answer(raw)
    except InvalidNumber:
        answer = None
    found = engine.registry_found(raw)
    if raw.isdigit() and len(raw) == 11 and raw[0] in "78" and isinstance(answer, RussianAnswer):
        assert found == answer
    else:  # anything else is left to registry_answer, which tells it apart
        assert found is None
    assert LookupEngine(None).registry_found(raw) is None
