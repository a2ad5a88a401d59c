"""One writer at a time: what import, import-mnp, update, mnp-sync, rollback — and a service's background
update from the portal — hold while they run.

:func:`exclusive` takes the data dir's lock (:mod:`worker.data.dataset.lock`) and, with Redis configured, the
data lease (:mod:`worker.data.dataset.lease`). Under the lease the local data dir first catches up with the
version Redis serves (another host may have published one), so every command builds on what the one before
it published; :meth:`Writer.make_current` then moves ``P:dataset:current``, fenced by the lease.

A Redis that cannot be reached when the command starts does not stop it: the work happens locally (under the
lock) and the command ends in the same error as before the lease existed, "... but publishing to Redis
failed", so the operator knows replicas did not follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.data.dataset import lease as data_lease
from worker.data.dataset import lock, redis_store
from worker.data.dataset.store import LocalStore
from worker.data.importer.build import Progress
from worker.errors import DataError
from worker.service.resources import open_redis
from worker.settings import Settings

T = TypeVar("T")


class Interrupted(BaseException):
    """Raised inside a running import when its command was cancelled (Ctrl-C): it stops at the next step."""


Say = Callable[[str], None]  # where a writer's progress lines go: stderr for the CLI, the log for a service


def tell(line: str) -> None:
    """The CLI's :data:`Say`: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


def shown_url(url: str) -> str:
    """The Redis URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def shown_redis(settings: Settings) -> str:
    """Where Redis is, fit to print: the URL without its password, or the Sentinel service, or the cluster."""
    redis = settings.redis
    if redis.sentinels:
        return f"Sentinel service {redis.service} via {','.join(redis.sentinels)}"
    url = shown_url(redis.url or "")
    return f"the cluster at {url}" if redis.cluster else url


class Writer:
    """What a command holding the lock (and the lease) may do: make a version current everywhere."""

    def __init__(
        self,
        settings: Settings,
        store: LocalStore,
        redis: Redis | None,
        lease: data_lease.Lease | None,
        unreachable: BaseException | None,
        say: Say = tell,
    ) -> None:
        self.settings, self.store, self.redis, self.lease = settings, store, redis, lease
        self.unreachable = unreachable
        self.say = say

    async def make_current(self, version: str, *, done_locally: str) -> None:
        """With Redis configured, make ``version`` what every replica serves (uploading it if Redis lacks it).

        ``done_locally`` says what already happened here, for the error: the local data dir keeps it.
        """
        if not self.settings.redis.configured:
            return
        if self.redis is None or self.lease is None:
            raise DataError(f"{done_locally}, but publishing to Redis failed: {self.unreachable}")
        keep = self.settings.data.keep_versions
        try:
            await redis_store.make_current(
                self.redis, self.settings.redis.prefix, self.store, version, keep=keep, lease=self.lease
            )
        except (RedisError, OSError) as error:
            raise DataError(f"{done_locally}, but publishing to Redis failed: {error}") from None
        except data_lease.LeaseLost as error:
            raise DataError(f"{done_locally}, but {error}") from None
        self.say(f"{version} is current in Redis at {shown_redis(self.settings)}")

    async def redis_versions(self) -> list[str]:
        """The versions Redis keeps (none without Redis)."""
        if self.redis is None or self.lease is None:
            return []
        return await redis_store.versions(self.redis, self.settings.redis.prefix)

    async def ensure_local(self, version: str) -> None:
        """Have ``version`` in the local store and current there (downloading it from Redis if needed)."""
        if version in self.store.versions():
            await asyncio.to_thread(self.store.point_to, version)
            return
        if self.redis is None:
            raise DataError(f"no dataset version {version} here")
        keep = self.settings.data.keep_versions
        await redis_store.download(self.redis, self.settings.redis.prefix, version, self.store, keep=keep)


@contextlib.asynccontextmanager
async def exclusive(
    settings: Settings, store: LocalStore, what: str, *, say: Say = tell
) -> AsyncIterator[Writer]:
    """Hold the data dir's lock and, with Redis, the data lease, with the local store caught up."""
    holder = f"{socket.gethostname()} pid {os.getpid()}: numlookup {what}"

    def waiting(other: str) -> None:
        say(f"waiting for {other} to finish")

    async with (
        lock.hold(store.root, f"numlookup {what}", waiting),
        open_redis(settings, uploads=True) as redis,
        contextlib.AsyncExitStack() as stack,
    ):
        if redis is None:
            yield Writer(settings, store, None, None, None, say)
            return
        try:
            lease = await stack.enter_async_context(
                data_lease.hold(redis, settings.redis.prefix, holder, waiting)
            )
        except (RedisError, OSError) as error:
            yield Writer(settings, store, redis, None, error, say)
            return
        writer = Writer(settings, store, redis, lease, None, say)
        await _catch_up(writer)
        yield writer


async def _catch_up(writer: Writer) -> None:
    """Make the version Redis serves the local current one, so this command builds on it."""
    assert writer.redis is not None
    try:
        serving = await redis_store.current_version(writer.redis, writer.settings.redis.prefix)
    except (RedisError, OSError) as error:
        raise DataError(f"reading the current version from Redis failed: {error}") from None
    if serving is None or serving == writer.store.current_version():
        return
    try:
        await writer.ensure_local(serving)
    except (RedisError, OSError) as error:
        raise DataError(f"fetching {serving}, the version Redis serves, failed: {error}") from None
    writer.say(f"caught up with {serving}, the version Redis serves")


async def in_thread(work: Callable[[Progress], T], progress: Progress) -> T:
    """Run a blocking import off the loop (so the lease stays renewed); cancelled, it stops at its next
    progress report, and the lock is not released before it has stopped."""
    stop = threading.Event()

    def report(stage: str, done: int, total: int) -> None:
        if stop.is_set():
            raise Interrupted
        progress(stage, done, total)

    future = asyncio.ensure_future(asyncio.to_thread(work, report))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(Interrupted, Exception):
            await future
        raise
