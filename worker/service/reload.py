"""Where running engines get their dataset from, and how they follow new versions (hot reload)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Final, Protocol

from worker.data.dataset.format import Dataset
from worker.data.dataset.store import LocalStore
from worker.errors import VersionLoadFailed
from worker.lookup.engine import LookupEngine

log = logging.getLogger(__name__)

RETRY_CAP: Final = 60.0  # seconds between tries of a version that failed to load, at most


class DatasetSource(Protocol):
    """Names the version every replica should serve and loads it."""

    async def current(self) -> str | None: ...

    async def load(self, version: str) -> Dataset: ...

    def watching(self) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """While open: an event set whenever the current version may have moved (polling still runs)."""
        ...


class LocalSource:
    """The embedded store on this machine's disk."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    async def current(self) -> str | None:
        return self.store.current_version()

    async def load(self, version: str) -> Dataset:
        return await asyncio.to_thread(self.store.open, version)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[asyncio.Event]:
        yield asyncio.Event()  # nothing announces a local import to other processes: polling finds it


async def follow(source: DatasetSource, engine: LookupEngine, interval: float) -> None:
    """Keep ``engine`` on the source's current version; runs until cancelled.

    The source is looked at when it announces news (Redis: a message on the version channel, within
    milliseconds of an import) and every ``interval`` seconds regardless, which finds what a lost message
    or a resubscription missed.

    The new version is loaded completely before the engine switches to it, so lookups never wait and
    never see a half-loaded dataset. A version that fails to load is logged once and the old one keeps
    serving; the failure may be passing (Redis restarting mid-download, a full disk freed since), so the
    same version is tried again after a backoff that doubles from ``interval`` up to :data:`RETRY_CAP`.
    """
    failed: str | None = None
    backoff = interval
    retry_at = 0.0
    async with source.watching() as news:
        while True:
            news.clear()  # before looking: news arriving while this pass runs wakes the next one at once
            now = time.monotonic()
            skip = failed if now < retry_at else None
            try:
                if await switch_to_current(source, engine, failed_version=skip, quiet_for=failed):
                    failed, backoff = None, interval
            except VersionLoadFailed as error:
                if error.version == failed:
                    backoff = min(backoff * 2, RETRY_CAP)
                else:
                    failed, backoff = error.version, interval
                retry_at = time.monotonic() + backoff
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await news.wait()
            stop_if_cancel_was_swallowed()


def stop_if_cancel_was_swallowed() -> None:
    """Raise CancelledError if this task was asked to stop but something awaited below ate the request.

    Seen under load in CI: a follower cancelled at shutdown went on polling (the task stayed "cancelling"
    while its loop ran on), so the shutdown that awaited it hung. The request is still recorded on the
    task, so honouring it here makes the follower stop whatever a library below did with the exception.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def switch_if_new(source: DatasetSource, engine: LookupEngine) -> bool:
    """Switch once if the source names a version the engine does not serve; ``True`` if it switched."""
    try:
        return await switch_to_current(source, engine)
    except VersionLoadFailed:
        return False


async def switch_to_current(
    source: DatasetSource,
    engine: LookupEngine,
    *,
    failed_version: str | None = None,
    quiet_for: str | None = None,
) -> bool:
    """Switch to the source's current version unless the engine serves it or it is ``failed_version``.

    Raises :class:`VersionLoadFailed` when the version cannot be loaded (logged unless it is ``quiet_for``,
    which failed before: a version retried with backoff does not fill the log).
    """
    try:
        version = await source.current()
    except Exception as error:  # task boundary: a broken source must not stop the service
        log.warning("cannot read the current dataset version: %s", error)
        return False
    if version is None or version == engine.version or version == failed_version:
        return False
    try:
        dataset = await source.load(version)
    except Exception as error:
        if version != quiet_for:
            log.error("dataset %s failed to load, keeping %s: %s", version, engine.version, error)
        raise VersionLoadFailed(version, str(error)) from error
    previous = [engine.use(dataset)]
    # Freeing a version (450k ranges, their answers, the maps) takes tens of milliseconds: drop the last
    # reference in a worker thread so requests in flight during a switch do not wait for it. No explicit
    # close(): a lookup running in another thread may still hold the old version, and keeps it alive.
    await asyncio.to_thread(previous.clear)
    return True
