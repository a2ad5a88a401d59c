"""A serving process's data at start (worker/service/seed.py): the bundled snapshot when none exists, shared
through Redis only while Redis names nothing, then the portal in the background; and the banner of ``run``."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import REAL_REDIS_URL, real_redis
from tests.realdata import ROSSVYAZ
from tests.update.portal_fake import ROWS, FakePortal, registry_csv
from worker.data.dataset import redis_store
from worker.data.dataset.lock import DataDirLock
from worker.data.dataset.store import LocalStore
from worker.data.importer.bundled import import_bundled
from worker.data.importer.registry import import_registry
from worker.lookup.engine import LookupEngine
from worker.service import seed
from worker.service.seed import ensure_dataset, portal_on_start
from worker.service.serve import serve_everything
from worker.settings import Settings, default_brands_file

PREFIX = "seedtest"


def settings_for(data_dir: Path, **data: object) -> Settings:
    return Settings(data_dir=data_dir, redis={"prefix": PREFIX}, data=data)


async def test_an_empty_data_dir_gets_the_snapshot_and_a_full_one_does_not(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    meta = await ensure_dataset(settings, None)
    assert meta is not None
    assert meta.source == "bundled"
    assert await ensure_dataset(settings, None) is None  # a second start imports nothing
    assert LocalStore(settings.data_dir).versions() == [meta.version]


async def test_a_data_dir_that_cannot_take_it_is_one_error_and_the_service_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(seed, "import_bundled", refuse)
    assert await ensure_dataset(settings_for(tmp_path / "data"), None) is None
    assert "cannot import the bundled registry snapshot" in caplog.text
    assert "Permission denied" in caplog.text


async def test_redis_gets_the_snapshot_only_while_it_names_no_dataset(redis: Redis, tmp_path: Path) -> None:
    first = await ensure_dataset(settings_for(tmp_path / "first"), redis)
    assert first is not None
    assert await redis_store.current_version(redis, PREFIX) == first.version  # replicas follow it
    # a replica starting later finds a dataset in Redis: nothing imported, it downloads what Redis names
    assert await ensure_dataset(settings_for(tmp_path / "second"), redis) is None
    assert LocalStore(tmp_path / "second").current_version() is None

    real = LocalStore(tmp_path / "real")
    version = import_registry(real, [ROSSVYAZ / "DEF-9xx.csv"], brands=default_brands_file(), keep=5).version
    await redis_store.make_current(redis, PREFIX, real, version, keep=5)
    late = LocalStore(tmp_path / "late")  # a snapshot built while the real one was being published
    snapshot = import_bundled(late, brands=default_brands_file(), keep=5)
    assert snapshot is not None
    directory = late.versions_dir / snapshot.version
    assert not await redis_store.publish(redis, PREFIX, directory, keep=5, replace=False)
    assert await redis_store.current_version(redis, PREFIX) == version


def publish_real_files(fake: FakePortal, when: datetime) -> None:
    """The portal serving real registry rows: an older DEF-9xx, the ABC samples, two ABC-4xx rows."""
    files = {
        "DEF-9xx.csv": (ROSSVYAZ / "snapshots" / "2026-04-20" / "DEF-9xx.csv").read_bytes(),
        "ABC-3xx.csv": (ROSSVYAZ / "abc-sample" / "ABC-3xx-sample.csv").read_bytes(),
        "ABC-8xx.csv": (ROSSVYAZ / "abc-sample" / "ABC-8xx-sample.csv").read_bytes(),
        "ABC-4xx.csv": registry_csv(ROWS["ABC-4xx.csv"]),
    }
    for name, content in files.items():
        fake.publish(name, content, when)


async def test_the_portal_replaces_the_snapshot_in_the_background(
    fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, url = fake_portal
    publish_real_files(fake, datetime(2026, 11, 20, 3, 12))
    settings = settings_for(tmp_path / "data", portal_url=url, portal_backoff=0)
    store = LocalStore(settings.data_dir)
    await ensure_dataset(settings, None)
    engine = LookupEngine(store.open())
    async with portal_on_start(settings, engine) as task:
        assert task is not None
        await asyncio.wait_for(task, 30)
    meta = store.open().meta
    assert (meta.source, meta.published) == ("portal", date(2026, 11, 20))  # the listing's date
    assert meta.ranges == 16_629 + 856 + 831 + 2
    assert len(store.versions()) == 2  # the snapshot stays in the history, for rollback


async def test_nothing_is_tried_while_real_data_serves_or_when_turned_off(
    fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, url = fake_portal
    store = LocalStore(tmp_path / "data")
    import_registry(store, [ROSSVYAZ / "DEF-9xx.csv"], brands=default_brands_file(), keep=5)
    async with portal_on_start(settings_for(store.root, portal_url=url), LookupEngine(store.open())) as task:
        assert task is None
    other = LocalStore(tmp_path / "other")
    import_bundled(other, brands=default_brands_file(), keep=5)
    off = settings_for(other.root, portal_url=url, fetch_on_start=False)
    async with portal_on_start(off, LookupEngine(other.open())) as task:
        assert task is None
    on = settings_for(other.root, portal_url=url)
    async with portal_on_start(on, LookupEngine(other.open()), enabled=False) as task:
        assert task is None
    assert sum(fake.hits.values()) == 0


async def test_run_announces_urls_asterisk_and_data(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        http={"port": 0},
        fastagi={"port": 0},
        data={"fetch_on_start": False},
    )
    announced: list[str] = []
    ready = asyncio.Event()

    def announce(text: str) -> None:
        announced.append(text)
        ready.set()

    stop = asyncio.Event()
    service = asyncio.create_task(serve_everything(settings, stop, announce=announce))
    try:
        await asyncio.wait_for(ready.wait(), 20)
    finally:
        stop.set()
        await asyncio.wait_for(service, 20)
    text = announced[0]
    assert text.startswith("numlookup is running. Try:\n")
    api = r"^  API      curl '(http://127\.0\.0\.1:\d+)/get/\?num=79170415564'$"
    base = re.search(api, text, re.MULTILINE)
    assert base is not None
    for name, path in (("page", "/"), ("health", "/health"), ("metrics", "/metrics")):
        assert f"\n  {name:<8} {base[1]}{path}\n" in text
    assert "Data:      registry of 2026-08-19 from the bundled snapshot" in text
    assert "18,746 ranges, 0 ported numbers" in text
    assert "full registry: 'numlookup data import FILE...' or 'numlookup data update'" in text
    assert "FastAGI:   agi://127.0.0.1:" in text
    assert "AMI:       not configured (set NUMLOOKUP_AMI__HOST and NUMLOOKUP_AMI__SECRET)" in text
    assert "trying the official portal" not in text  # fetch_on_start is off here


async def test_with_redis_the_portals_registry_becomes_current_there_too(
    fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    """Replicas follow Redis: the background try publishes what it fetched there, over the snapshot."""
    client = await real_redis()
    prefix = f"seedtest-{os.getpid()}"
    fake, url = fake_portal
    publish_real_files(fake, datetime(2026, 11, 20, 3, 12))
    settings = Settings(
        data_dir=tmp_path / "data",
        redis={"url": REAL_REDIS_URL, "prefix": prefix},
        data={"portal_url": url, "portal_backoff": 0},
    )
    try:
        snapshot = await ensure_dataset(settings, client)
        assert snapshot is not None
        assert await redis_store.current_version(client, prefix) == snapshot.version
        engine = LookupEngine(LocalStore(settings.data_dir).open())
        async with portal_on_start(settings, engine) as task:
            assert task is not None
            await asyncio.wait_for(task, 30)
        current = await redis_store.current_version(client, prefix)
        assert current == LocalStore(settings.data_dir).current_version() != snapshot.version
        assert LocalStore(settings.data_dir).open(current).meta.source == "portal"
    finally:
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_the_background_try_waits_for_a_command_changing_the_data(
    fake_portal: tuple[FakePortal, str], tmp_path: Path
) -> None:
    fake, url = fake_portal
    publish_real_files(fake, datetime(2026, 11, 20, 3, 12))
    settings = settings_for(tmp_path / "data", portal_url=url, portal_backoff=0)
    store = LocalStore(settings.data_dir)
    await ensure_dataset(settings, None)
    bundled = store.current_version()
    lock = DataDirLock(store.root)
    assert lock.try_acquire("numlookup data import")  # an import is running
    task = asyncio.create_task(seed.fetch_once(settings))
    await asyncio.sleep(1.0)
    assert not task.done()
    assert store.current_version() == bundled  # nothing built beside the running import
    assert fake.hits["/"] == 0
    lock.release()
    report = await asyncio.wait_for(task, 30)
    assert report is not None
    assert report.previous == bundled
    assert store.current_version() == report.version
