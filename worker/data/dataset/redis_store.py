"""The dataset in Redis: one import publishes a version there and every replica switches to it.

Keys (``P`` is ``settings.redis.prefix``); the part in braces is the Redis Cluster hash tag, so the keys
that are used together live in one slot (one version's files and manifest; the pointer and the history)::

    {P:dataset:<version>}:<file>        a version directory's file, as one binary value
    {P:dataset:<version>}:<file>:<n>    ... or in 256 MB chunks when larger (Redis values stop at 512 MB)
    {P:dataset:<version>}:manifest      JSON {file: {size, chunks, sha256}}
    {P:dataset}:versions                sorted set of published versions (score: publication time)
    {P:dataset}:current                 the version every replica serves, set last
    {P:dataset}:restoring               held while one replica re-publishes into a Redis that lost its data
    P:dataset:switched                  channel: the version, published each time ``current`` moves

A replica downloads a version it does not have into its own data dir (scratch directory, checked against the
manifest's sizes and hashes, then published atomically) and opens it from there, memory-mapped like any local
version. Replicas hear of a new version on the channel at once and also poll ``current`` (a message missed
while disconnected is found by the next poll). If Redis cannot be reached the replica logs it and keeps
serving its local data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.data.dataset.format import Dataset
from worker.data.dataset.lease import Lease
from worker.data.dataset.store import LocalStore
from worker.data.digest import sha256_of
from worker.errors import DataError

log = logging.getLogger(__name__)

CHUNK: Final = 256 * 1024 * 1024
RESTORE_HOLD: Final = 300  # seconds one replica may take to re-publish before another may try
LISTEN_WAIT: Final = 1.0  # seconds one read of the channel waits (redis-py's socket timeout is shorter)
RESUBSCRIBE_DELAY: Final = 1.0  # seconds between tries to subscribe while Redis is unreachable


class Keys:
    def __init__(self, prefix: str) -> None:
        self.root = f"{prefix}:dataset"
        self.current = f"{{{self.root}}}:current"
        self.versions = f"{{{self.root}}}:versions"
        self.restoring = f"{{{self.root}}}:restoring"  # held by the replica re-publishing after Redis lost it
        self.channel = f"{self.root}:switched"  # channels have no slot: a cluster delivers to every node

    def manifest(self, version: str) -> str:
        return f"{{{self.root}:{version}}}:manifest"

    def file(self, version: str, name: str, chunk: int | None = None) -> str:
        base = f"{{{self.root}:{version}}}:{name}"
        return base if chunk is None else f"{base}:{chunk}"


async def publish(
    redis: Redis,
    prefix: str,
    directory: Path,
    *,
    keep: int,
    chunk: int = CHUNK,
    replace: bool = True,
    lease: Lease | None = None,
) -> bool:
    """Upload a complete local version directory and make it current in Redis; ``True`` if it became current.

    ``replace=False`` makes it current only while Redis names no version (the bundled snapshot: it must never
    replace a real dataset another replica published, even one published during the upload). With ``lease``,
    the move of ``P:dataset:current`` is fenced by it (:meth:`Lease.set_current`).
    """
    version = directory.name
    if not (directory / "meta.json").is_file():
        raise DataError(f"{directory} is not a complete dataset version")
    keys = Keys(prefix)
    if not replace and await redis.exists(keys.current):
        return False
    manifest: dict[str, Any] = {}
    files = await asyncio.to_thread(lambda: sorted(entry for entry in directory.iterdir() if entry.is_file()))
    for path in files:
        data = await asyncio.to_thread(path.read_bytes)
        chunks = max(1, math.ceil(len(data) / chunk))
        entry = {"size": len(data), "chunks": chunks, "sha256": sha256_of(data)}
        if chunks == 1:
            await redis.set(keys.file(version, path.name), data)
        else:
            for index in range(chunks):
                await redis.set(
                    keys.file(version, path.name, index), data[index * chunk : (index + 1) * chunk]
                )
        del data
        manifest[path.name] = entry
    await redis.set(keys.manifest(version), json.dumps(manifest))
    # last: replicas switch only to a complete version
    became_current = await set_current(redis, keys, version, lease, replace=replace)
    await prune(redis, prefix, keep)
    return became_current


async def set_current(
    redis: Redis, keys: Keys, version: str, lease: Lease | None, *, replace: bool = True
) -> bool:
    """Record ``version`` in the history and point ``P:dataset:current`` at it (while unset only, unless
    ``replace``), then tell the replicas on the channel; ``True`` if it became current.

    With ``lease`` the move is fenced by it (:meth:`Lease.set_current`); without, the history and the pointer
    change in one transaction (one hash tag: one slot, so a cluster allows it).
    """
    if lease is not None:
        await redis.zadd(keys.versions, {version: time.time()})
        await lease.set_current(keys.current, version)
        became_current = True
    else:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.versions, {version: time.time()})
            pipe.set(keys.current, version, nx=not replace)
            _, became_current = await pipe.execute()
    if became_current:
        await redis.publish(keys.channel, version)
    return bool(became_current)


async def restore_current(redis: Redis, prefix: str, store: LocalStore, version: str, *, keep: int) -> bool:
    """Make the locally served ``version`` current again in a Redis that names none (it restarted empty).

    One replica does it (``P:dataset:restoring``, set NX, expires); the others find the current key set on
    their next poll. The version is uploaded if Redis lacks it. Nothing is overwritten: the current key is set
    only while unset, so a version an import made current meanwhile wins. ``True`` if this call set it.
    """
    keys = Keys(prefix)
    if not await redis.set(keys.restoring, version, nx=True, ex=RESTORE_HOLD):
        return False
    try:
        if not await redis.exists(keys.manifest(version)):
            return await publish(redis, prefix, store.versions_dir / version, keep=keep, replace=False)
        return await set_current(redis, keys, version, None, replace=False)
    finally:
        await redis.delete(keys.restoring)


async def make_current(
    redis: Redis, prefix: str, store: LocalStore, version: str, *, keep: int, lease: Lease | None = None
) -> None:
    """Make local ``version`` the one every replica serves: point at it, uploading it if Redis lacks it.

    Replicas hear it on the channel at once (and find it within ``data.reload_interval`` by polling).
    """
    if await redis.exists(Keys(prefix).manifest(version)):
        await set_current(redis, Keys(prefix), version, lease)
    else:
        await publish(redis, prefix, store.versions_dir / version, keep=keep, lease=lease)


async def current_version(redis: Redis, prefix: str) -> str | None:
    value = await redis.get(Keys(prefix).current)
    return None if value is None else _text(value)


async def versions(redis: Redis, prefix: str) -> list[str]:
    """The versions Redis keeps, oldest first (version names sort by creation time)."""
    return sorted(_text(item) for item in await redis.zrange(Keys(prefix).versions, 0, -1))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def prune(redis: Redis, prefix: str, keep: int) -> list[str]:
    """Delete the oldest versions beyond ``keep`` (never the current one)."""
    keys = Keys(prefix)
    current = await current_version(redis, prefix)
    versions = [_text(item) for item in await redis.zrange(keys.versions, 0, -1)]
    removable = [version for version in versions if version != current]
    excess = max(0, len(removable) + (1 if current else 0) - keep)
    for version in removable[:excess]:
        raw = await redis.get(keys.manifest(version))
        manifest: dict[str, Any] = json.loads(raw) if raw else {}
        doomed = [keys.manifest(version)]
        for name, entry in manifest.items():
            chunks = int(entry["chunks"])
            doomed += (
                [keys.file(version, name)]
                if chunks == 1
                else [keys.file(version, name, index) for index in range(chunks)]
            )
        await redis.delete(*doomed)
        await redis.zrem(keys.versions, version)
    return removable[:excess]


async def download(redis: Redis, prefix: str, version: str, store: LocalStore, *, keep: int) -> Path:
    """Fetch a version into the local store (atomically: scratch directory, checked, then published)."""
    keys = Keys(prefix)
    raw = await redis.get(keys.manifest(version))
    if raw is None:
        raise DataError(f"dataset version {version} is not in Redis (pruned, or never published)")
    manifest: dict[str, Any] = json.loads(raw)
    scratch = store.scratch()
    try:
        for name, entry in manifest.items():
            chunks = int(entry["chunks"])
            names = (
                [keys.file(version, name)]
                if chunks == 1
                else [keys.file(version, name, index) for index in range(chunks)]
            )
            parts = [await redis.get(key) for key in names]
            if any(part is None for part in parts):
                raise DataError(f"dataset version {version} is incomplete in Redis ({name} missing)")
            data = b"".join(part for part in parts if isinstance(part, bytes))
            if len(data) != entry["size"] or sha256_of(data) != entry["sha256"]:
                raise DataError(f"dataset version {version}: {name} does not match its manifest")
            await asyncio.to_thread((scratch / name).write_bytes, data)
        return await asyncio.to_thread(store.publish, scratch, version, keep=keep)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        existing = store.versions_dir / version
        if (existing / "meta.json").is_file():  # another process sharing this data dir got there first
            return existing
        raise
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


Republish = Callable[[str], Awaitable[None]]


class RedisSource:
    """The version Redis names, downloaded into the local data dir on first use; local data if Redis fails.

    A Redis that answers but names no current version lost its data (restarted empty, flushed): with
    ``republish`` (the serving processes'), the version served here is published again
    (:func:`restore_current`), so replicas and new processes agree on one version again.
    """

    def __init__(
        self, redis: Redis, store: LocalStore, *, prefix: str, keep: int, republish: Republish | None = None
    ) -> None:
        self.redis, self.store, self.prefix, self.keep = redis, store, prefix, keep
        self.republish = republish
        self._reachable = True

    async def current(self) -> str | None:
        try:
            version = await current_version(self.redis, self.prefix)
        except (RedisError, OSError) as error:
            if self._reachable:
                log.warning("Redis unreachable, serving local data: %s", error)
            self._reachable = False
            return self.store.current_version()
        if not self._reachable:
            log.info("Redis reachable again")
            self._reachable = True
        local = self.store.current_version()
        if version is None and local is not None and self.republish is not None:
            try:
                await self.republish(local)
            except (RedisError, OSError, DataError) as error:
                log.warning(
                    "Redis names no current dataset version; re-publishing %s failed: %s", local, error
                )
        return version or local

    async def load(self, version: str) -> Dataset:
        if version not in self.store.versions():
            log.info("downloading dataset %s from Redis", version)
            await download(self.redis, self.prefix, version, self.store, keep=self.keep)
        return await asyncio.to_thread(self.store.open, version)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[asyncio.Event]:
        """An event set on every message of the version channel, and on every (re)subscription.

        A subscription that was lost may have missed a message, so being subscribed again counts as news
        too; redis-py resubscribes by itself after a reconnect, and says so with a ``subscribe`` reply.
        """
        news = asyncio.Event()
        listener = asyncio.create_task(self._listen(news), name="dataset-channel")
        try:
            yield news
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, news: asyncio.Event) -> None:
        channel = Keys(self.prefix).channel
        failing = False
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    while True:
                        message = await pubsub.get_message(timeout=LISTEN_WAIT)
                        _stop_if_cancelled()
                        if message is None:
                            continue
                        if failing:
                            log.info("subscribed to %s again", channel)
                            failing = False
                        news.set()
            except (RedisError, OSError) as error:
                if not failing:
                    log.warning("lost the subscription to %s (%s): polling until it is back", channel, error)
                    failing = True
            await asyncio.sleep(RESUBSCRIBE_DELAY)


def _stop_if_cancelled() -> None:
    """Honour a cancel that a library below swallowed (service.reload.stop_if_cancel_was_swallowed says how
    that hung a shutdown): the listener must stop when ``watching`` exits."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
