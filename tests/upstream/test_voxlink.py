"""Upstream MNP sources against a fake num.voxlink.ru on a real socket: what is asked, what comes back, what
is remembered, and how a slow, throttling, broken or dead upstream never fails an answer."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.ami.conftest import until
from tests.conftest import build_small_dataset
from tests.upstream.conftest import upstream_engine, upstream_settings
from tests.upstream.fake_voxlink import FakeVoxlink
from worker.answer.model import RussianAnswer
from worker.answer.voxlink import v1
from worker.data.dataset.format import Dataset
from worker.lookup.engine import LookupEngine


async def russian(engine: LookupEngine, number: str) -> RussianAnswer:
    answer = await engine.lookup(number)
    assert isinstance(answer, RussianAnswer)
    return answer


async def settled(engine: LookupEngine) -> None:
    """Wait for every upstream request still out (they carry on past a caller's deadline)."""
    assert engine.upstream is not None
    await asyncio.gather(*engine.upstream.inflight.values(), return_exceptions=True)


def dataset_with_mnp(directory: Path, updated: datetime, sources: list[str]) -> Dataset:
    """The small dataset, as if MNP files (``sources``) had been imported at ``updated``."""
    build_small_dataset(directory)
    meta = json.loads((directory / "meta.json").read_text())
    meta.update(mnp_updated=updated.isoformat(), mnp_sources=sources)
    (directory / "meta.json").write_text(json.dumps(meta))
    return Dataset(directory)


async def test_a_ported_number_comes_back_with_old_operator_and_is_asked_once(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, redis: Redis
) -> None:
    settings = upstream_settings(data_dir, voxlink.url)
    async with upstream_engine(settings, dataset, redis) as engine:
        answer = await russian(engine, "79170000123")  # МТС's range, ported to МегаФон
        assert v1(answer) == {
            "code": "917", "num": "0000123", "full_num": "9170000123", "operator": "МегаФон",
            "old_operator": "МТС", "region": "Республика Башкортостан",
        }  # fmt: skip
        assert answer.source == "upstream"
        again = await russian(engine, "+7 (917) 000-01-23")
        assert (v1(again), again.source) == (v1(answer), "cache")
    async with upstream_engine(settings, dataset, redis) as engine:  # a restart, or another replica
        again = await russian(engine, "79170000123")
        assert (again.operator.brand, again.source) == ("МегаФон", "cache")
    assert voxlink.requests == {"79170000123": 1}


async def test_the_upstream_decides_whether_a_number_is_ported(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 100, "burst": 10})
    async with upstream_engine(settings, dataset) as engine:
        # the local MNP data (never dated) says ported to МТС; the upstream says it is back at МегаФон
        back = await russian(engine, "79261234567")
        assert (back.operator.brand, back.old_operator, back.source) == ("МегаФон", None, "upstream")
        # the talk's example: the local data agrees with the upstream
        talk = await russian(engine, "79000000000")
        assert talk.source == "upstream"
        assert v1(talk)["operator"] == "МТС"
        assert v1(talk)["old_operator"] == "Т2"


async def test_only_mobile_numbers_are_asked(voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset) -> None:
    async with upstream_engine(upstream_settings(data_dir, voxlink.url), dataset) as engine:
        fixed = await russian(engine, "74959890001")
        foreign = await engine.lookup("+358181201235")
        assert fixed.source == "registry"
        assert foreign.__class__.__name__ == "ForeignAnswer"
    assert voxlink.total == 0


async def test_fresh_local_mnp_data_is_not_second_guessed(voxlink: FakeVoxlink, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    complete = dataset_with_mnp(tmp_path / "complete", now, ["Port_All_20260801.zip"])
    increments = dataset_with_mnp(tmp_path / "increments", now, ["Port_Increment_20260802_1.zip"])
    stale = dataset_with_mnp(tmp_path / "stale", now - timedelta(days=10), ["Port_All_20260801.zip"])
    settings = upstream_settings(tmp_path, voxlink.url)
    async with upstream_engine(settings, complete) as engine:
        assert (await russian(engine, "79170000123")).source == "registry"  # a full snapshot lists it not
        assert (await russian(engine, "79000000000")).source == "mnp"
    assert voxlink.total == 0
    async with upstream_engine(settings, increments) as engine:
        assert (await russian(engine, "79000000000")).source == "mnp"  # listed in fresh data
        assert (await russian(engine, "79170000123")).source == "upstream"  # increments do not list all
    async with upstream_engine(settings, stale) as engine:
        assert (await russian(engine, "79000000000")).source == "upstream"
    assert voxlink.requests == {"79170000123": 1, "79000000000": 1}


async def test_an_official_mnp_import_supersedes_older_learned_ports(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, tmp_path: Path
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, mnp_max_age=0)  # never trust local data alone
    async with upstream_engine(settings, dataset) as engine:
        assert (await russian(engine, "79170000123")).source == "upstream"
    newer = dataset_with_mnp(tmp_path / "newer", datetime.now(UTC) + timedelta(seconds=1), [])
    async with upstream_engine(settings, newer) as engine:
        # what was learned before the import is not reused: the upstream is asked afresh
        assert (await russian(engine, "79170000123")).source == "upstream"
    assert voxlink.requests == {"79170000123": 2}


async def test_a_slow_upstream_costs_the_caller_only_the_deadline(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    voxlink.mode, voxlink.delay = "slow", 2.0
    settings = upstream_settings(data_dir, voxlink.url, source={"timeout": 5.0}, deadline=0.3)
    async with upstream_engine(settings, dataset) as engine:
        started = time.monotonic()
        local = await russian(engine, "79170000123")
        waited = time.monotonic() - started
        assert (local.operator.brand, local.source) == ("МТС", "registry")
        assert waited < 1.5  # the upstream takes 2 s; the caller got the local answer at the deadline
        await settled(engine)  # the request carried on and filled the cache
        later = await russian(engine, "79170000123")
        assert (later.operator.brand, later.source) == ("МегаФон", "cache")
    assert voxlink.total == 1


async def test_concurrent_lookups_of_one_number_send_one_request(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, redis: Redis
) -> None:
    voxlink.mode, voxlink.delay = "slow", 0.1
    async with upstream_engine(
        upstream_settings(data_dir, voxlink.url, deadline=2.0), dataset, redis
    ) as engine:
        answers = await asyncio.gather(*(russian(engine, "79170000123") for _ in range(30)))
    assert {answer.operator.brand for answer in answers} == {"МегаФон"}
    assert voxlink.total == 1


@pytest.mark.parametrize(
    ("mode", "breaker", "sent"),
    [
        ("malformed", "open", 3),
        ("hang", "open", 3),
        ("error", "closed", 1),  # a 5xx puts every request on hold for a second: slower, not broken
    ],
)
async def test_a_broken_upstream_never_fails_an_answer(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, mode: str, breaker: str, sent: int
) -> None:
    voxlink.mode = mode
    source = {"timeout": 0.2, "breaker_failures": 3, "breaker_reset": 60, "rate": 1000, "burst": 1000}
    settings = upstream_settings(data_dir, voxlink.url, source=source, failure_ttl=1)
    async with upstream_engine(settings, dataset) as engine:
        assert engine.upstream is not None
        for n in range(8):
            answer = await russian(engine, f"7917000{n:04d}")
            assert answer.operator.brand in ("МТС", "МегаФон")  # the local answer
            assert answer.source in ("registry", "mnp")
        health = engine.upstream.health()[0]
        assert (health["breaker"], health["errors"]) == (breaker, sent)
    assert voxlink.total == sent  # nothing more was sent while the breaker was open (or on hold)


async def test_429_slows_us_down_without_failing_answers(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    # a budget set above num.voxlink.ru's 10/s: its 429s must hold every further request back
    voxlink.retry_after = "5"  # long enough to still hold on a slow machine
    source = {"rate": 100, "burst": 100, "breaker_failures": 1000}
    settings = upstream_settings(data_dir, voxlink.url, source=source, deadline=2.0)
    async with upstream_engine(settings, dataset) as engine:
        assert engine.upstream is not None
        answers = await asyncio.gather(*(russian(engine, f"7917001{n:04d}") for n in range(40)))
        assert len(answers) == 40
        throttled = voxlink.answered[429]
        assert throttled > 0
        sent = voxlink.total
        more = await asyncio.gather(*(russian(engine, f"7917002{n:04d}") for n in range(20)))
        assert all(answer.source == "registry" for answer in more)  # on hold: answered locally at once
        assert voxlink.total == sent
        assert engine.upstream.sources[0].requests["throttled"] == throttled


async def test_a_spent_budget_answers_locally_and_refreshes_in_the_background(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 8, "burst": 1}, deadline=1.0)
    async with upstream_engine(settings, dataset) as engine:
        assert engine.upstream is not None
        started = time.monotonic()
        numbers = [f"7917003{n:04d}" for n in range(16)]
        answers = await asyncio.gather(*(russian(engine, number) for number in numbers))
        assert sum(answer.source == "upstream" for answer in answers) <= 4  # the token in hand, and time
        assert engine.upstream.cache.refreshes_queued >= 12
        await until(lambda: not engine.upstream.queued)  # the refresh drains the queue as the budget allows
        elapsed = time.monotonic() - started
        again = [await russian(engine, number) for number in numbers]
        assert {answer.source for answer in again} == {"cache"}
    assert voxlink.total == 16
    assert voxlink.answered[429] == 0  # the default budget keeps below num.voxlink.ru's 10/s
    assert voxlink.max_in_any_second() <= 10  # 8/s, and arrival jitter
    assert elapsed > 1.5  # 16 requests at 8/s cannot take less


async def test_an_upstream_dying_mid_run_costs_no_answer(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 100, "burst": 100})
    async with upstream_engine(settings, dataset) as engine:
        assert (await russian(engine, "79170000123")).source == "upstream"
        await voxlink.stop()
        for n in range(5):
            answer = await russian(engine, f"7917004{n:04d}")
            assert (answer.operator.brand, answer.source) == ("МТС", "registry")
        assert (await russian(engine, "79170000123")).source == "cache"
        assert engine.upstream is not None
        assert engine.upstream.sources[0].requests["unreachable"] >= 1, engine.upstream.sources[0].requests


async def test_the_refresh_queue_never_holds_the_event_loop(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    """A full queue while every breaker is open (the upstream hangs): the refresh must wait, not spin."""
    settings = upstream_settings(data_dir, voxlink.url, queue=5000)
    async with upstream_engine(settings, dataset) as engine:  # no Redis: the SQLite file answers at once
        upstream = engine.upstream
        assert upstream is not None
        holder = dataset.operators[0]
        for n in range(5000):
            upstream._enqueue(f"7917005{n:04d}", holder)
        upstream.sources[0].breaker.opened_at = time.monotonic()  # open
        loop = asyncio.get_running_loop()
        longest, last = 0.0, loop.time()
        for _ in range(50):
            await asyncio.sleep(0.01)
            longest, last = max(longest, loop.time() - last), loop.time()
        assert longest < 0.1
        assert len(upstream.queued) == 5000  # kept for when the breaker closes
    assert voxlink.total == 0


async def test_a_throttled_number_is_refreshed_not_remembered_as_failed(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    voxlink.limit = 0  # every request answered 429 (Retry-After: 1)
    settings = upstream_settings(data_dir, voxlink.url, source={"breaker_failures": 100})
    async with upstream_engine(settings, dataset) as engine:
        assert engine.upstream is not None
        assert (await russian(engine, "79170000123")).source == "registry"
        assert engine.upstream.queued == {"79170000123"}
        voxlink.limit = 10
        await until(lambda: not engine.upstream.queued, within=5)
        assert (await russian(engine, "79170000123")).source == "cache"
    assert voxlink.answered[429] == 1
    assert voxlink.answered[200] == 1


async def test_an_unexpected_failure_inside_the_upstream_side_is_the_local_answer(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    async with upstream_engine(upstream_settings(data_dir, voxlink.url), dataset) as engine:
        assert engine.upstream is not None
        monkeypatch.setattr(engine.upstream, "_remember", broken)
        answer = await russian(engine, "79170000123")
    assert (answer.operator.brand, answer.source) == ("МТС", "registry")
    assert "upstream lookup of 79170000123 failed" in caplog.text
