"""The dataset in Redis: publish, follow from another data dir, chunks, pruning, Redis gone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import build_small_dataset
from worker.data.dataset import redis_store
from worker.data.dataset.redis_store import Keys, RedisSource
from worker.data.dataset.store import LocalStore
from worker.errors import DataError
from worker.lookup.engine import LookupEngine
from worker.service.reload import switch_if_new

PREFIX = "nltest"


def local_version(store: LocalStore) -> Path:
    scratch = store.scratch()
    version = build_small_dataset(scratch)
    return store.publish(scratch, version, keep=10)


async def test_published_version_reaches_another_replica(redis: Redis, tmp_path: Path) -> None:
    importer = LocalStore(tmp_path / "importer")
    directory = local_version(importer)
    await redis_store.publish(redis, PREFIX, directory, keep=3)
    assert await redis.get(Keys(PREFIX).current) == directory.name.encode()

    replica = LocalStore(tmp_path / "replica")
    source = RedisSource(redis, replica, prefix=PREFIX, keep=3)
    engine = LookupEngine()
    assert await switch_if_new(source, engine)
    assert engine.version == directory.name
    assert replica.current_version() == directory.name  # downloaded into its own data dir
    for name in ("ranges.bin", "ported.num", "ported.op", "operators.json", "meta.json"):
        assert (replica.versions_dir / directory.name / name).read_bytes() == (directory / name).read_bytes()
    answer = engine.lookup_now("79261234567")
    assert answer.operator.brand == "МТС"  # type: ignore[union-attr]


async def test_large_files_are_chunked(redis: Redis, tmp_path: Path) -> None:
    directory = local_version(LocalStore(tmp_path / "importer"))
    chunk = 1 << 20
    await redis_store.publish(redis, PREFIX, directory, keep=3, chunk=chunk)
    manifest = json.loads(await redis.get(Keys(PREFIX).manifest(directory.name)))
    size = (directory / "ported.idx").stat().st_size  # 4 MB: the 6-digit bucket index
    assert manifest["ported.idx"]["chunks"] == -(-size // chunk) > 1
    assert manifest["ranges.bin"]["chunks"] == 1
    assert (
        await redis.get(Keys(PREFIX).file(directory.name, "ported.idx", 0))
        == (directory / "ported.idx").read_bytes()[:chunk]
    )
    replica = LocalStore(tmp_path / "replica")
    dataset = await RedisSource(redis, replica, prefix=PREFIX, keep=3).load(directory.name)
    assert len(dataset) == 5


async def test_old_versions_are_pruned(redis: Redis, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "importer")
    published = []
    for _ in range(4):
        directory = local_version(store)
        await redis_store.publish(redis, PREFIX, directory, keep=2)
        published.append(directory.name)
    versions = [item.decode() for item in await redis.zrange(Keys(PREFIX).versions, 0, -1)]
    assert versions == published[-2:]
    leftovers = [key async for key in redis.scan_iter(match=f"{{{PREFIX}:dataset:{published[0]}}}:*")]
    assert leftovers == []
    assert await redis.get(Keys(PREFIX).current) == published[-1].encode()


async def test_tampered_value_is_refused_and_nothing_published(redis: Redis, tmp_path: Path) -> None:
    directory = local_version(LocalStore(tmp_path / "importer"))
    await redis_store.publish(redis, PREFIX, directory, keep=3)
    await redis.set(Keys(PREFIX).file(directory.name, "ported.num"), b"garbage")
    replica = LocalStore(tmp_path / "replica")
    with pytest.raises(DataError, match="does not match its manifest"):
        await RedisSource(redis, replica, prefix=PREFIX, keep=3).load(directory.name)
    assert replica.current_version() is None
    assert not any((replica.root / "tmp").iterdir())


async def test_unreachable_redis_serves_local_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = LocalStore(tmp_path / "replica")
    directory = local_version(store)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        source = RedisSource(dead, store, prefix=PREFIX, keep=3)
        engine = LookupEngine()
        assert await switch_if_new(source, engine)
        assert engine.version == directory.name
        assert "Redis unreachable, serving local data" in caplog.text
    finally:
        await dead.aclose()


async def test_nothing_published_yet_serves_local_data(redis: Redis, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "replica")
    directory = local_version(store)
    assert await RedisSource(redis, store, prefix=PREFIX, keep=3).current() == directory.name


async def test_two_replicas_sharing_a_data_dir_download_once(redis: Redis, tmp_path: Path) -> None:
    directory = local_version(LocalStore(tmp_path / "importer"))
    await redis_store.publish(redis, PREFIX, directory, keep=3)
    shared = LocalStore(tmp_path / "replica")
    first, second = (RedisSource(redis, shared, prefix=PREFIX, keep=3) for _ in range(2))
    datasets = await asyncio.gather(first.load(directory.name), second.load(directory.name))
    assert [dataset.version for dataset in datasets] == [directory.name] * 2
    assert shared.versions() == [directory.name]
    assert not any((shared.root / "tmp").iterdir())


async def test_make_current_uploads_only_what_redis_lacks(redis: Redis, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "importer")
    first, second = local_version(store), local_version(store)
    keys = Keys(PREFIX)
    await redis_store.make_current(redis, PREFIX, store, first.name, keep=3)  # not in Redis: uploaded
    assert await redis.get(keys.current) == first.name.encode()
    await redis_store.make_current(redis, PREFIX, store, second.name, keep=3)
    assert await redis.get(keys.current) == second.name.encode()
    uploaded = await redis.get(keys.manifest(first.name))
    await redis.set(keys.file(first.name, "meta.json"), b"left alone")  # a re-upload would overwrite it
    await redis_store.make_current(redis, PREFIX, store, first.name, keep=3)  # a rollback: pointer only
    assert await redis.get(keys.current) == first.name.encode()
    assert await redis.get(keys.manifest(first.name)) == uploaded
    assert await redis.get(keys.file(first.name, "meta.json")) == b"left alone"
