"""Following the store: a broken version is reported once and skipped; the next good one is taken."""

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import build_small_dataset
from worker.data.dataset.format import Dataset
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.service.reload import LocalSource, follow


class CountedSource(LocalSource):
    """The local store, telling the test each time the follower polled it."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store)
        self.polls = 0
        self.polled = asyncio.Condition()

    async def current(self) -> str | None:
        async with self.polled:
            self.polls += 1
            self.polled.notify_all()
        return await super().current()

    async def wait(self, polls: int) -> None:
        async with asyncio.timeout(5), self.polled:
            target = self.polls + polls
            await self.polled.wait_for(lambda: self.polls >= target)


async def test_a_version_that_fails_to_load_is_logged_once_and_the_next_one_serves(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = LocalStore(data_dir)
    engine = LookupEngine(store.open())
    serving = engine.version
    broken = store.versions_dir / "20990101T000000000000Z"
    broken.mkdir()
    (broken / "meta.json").write_text('{"format": 2, "version": "x"}', encoding="utf-8")  # half a version
    store.pointer.write_text(broken.name, encoding="utf-8")
    source = CountedSource(store)
    follower = asyncio.create_task(follow(source, engine, interval=0.001))
    try:
        await source.wait(polls=10)
        assert caplog.text.count("failed to load") == 1
        assert engine.version == serving

        scratch = store.scratch()
        good = build_small_dataset(scratch, version="20990101T000000000001Z")
        store.publish(scratch, good)
        await source.wait(polls=2)  # the poll that saw it, and one after the switch
        assert engine.version == good
    finally:
        follower.cancel()
    assert isinstance(engine.dataset, Dataset)
    assert "dataset switched" in caplog.text


async def test_a_version_that_failed_is_tried_again_and_taken_once_it_loads(data_dir: Path) -> None:
    """A failure may pass (Redis restarting mid-download, a disk freed): the same version is retried."""
    store = LocalStore(data_dir)
    engine = LookupEngine(store.open())
    version = "20990101T000000000000Z"
    broken = store.versions_dir / version
    broken.mkdir()
    (broken / "meta.json").write_text('{"format": 2, "version": "x"}', encoding="utf-8")
    store.pointer.write_text(version, encoding="utf-8")
    source = CountedSource(store)
    follower = asyncio.create_task(follow(source, engine, interval=0.001))
    try:
        await source.wait(polls=5)
        assert engine.version != version
        scratch = store.scratch()
        build_small_dataset(scratch, version=version)
        shutil.rmtree(broken)
        scratch.rename(broken)  # the same version, now whole
        async with asyncio.timeout(5):
            while engine.version != version:
                await source.wait(polls=1)
    finally:
        follower.cancel()


class SwallowingSource(LocalSource):
    """A source whose I/O eats a cancellation (once), as something below the follower did under load in CI."""

    swallowed = False

    async def current(self) -> str | None:
        if not self.swallowed:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.swallowed = True
        return await super().current()


async def test_a_cancelled_follower_stops_even_when_a_call_below_swallowed_the_cancel(data_dir: Path) -> None:
    store = LocalStore(data_dir)
    follower = asyncio.create_task(
        follow(SwallowingSource(store), LookupEngine(store.open()), interval=0.001)
    )
    await asyncio.sleep(0.01)  # inside current()
    follower.cancel()
    await asyncio.wait({follower}, timeout=5)  # a shutdown awaiting the follower must not hang
    try:
        assert follower.cancelled()
    finally:
        follower.cancel()  # the test's own cleanup when it failed
