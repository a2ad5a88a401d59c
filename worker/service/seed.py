"""Data for a serving process: the bundled snapshot when none exists, then the portal in the background.

``numlookup run``, ``api`` and ``worker`` call :func:`ensure_dataset` before they open the engine: with no
dataset in the data dir (nor in Redis, when configured) it imports the registry snapshot shipped in the
package (:mod:`worker.data.importer.bundled`, a fraction of a second), so the service answers Russian numbers
by range at once. :func:`portal_on_start` then tries the official portal once in the background while the
bundled snapshot serves; a real dataset, imported or downloaded, replaces it and is never replaced by it.

:func:`update_from_portal` is the one update run both this and ``numlookup data update`` use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.data.dataset import redis_store
from worker.data.dataset.format import BUNDLED, PORTAL, Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer.build import Progress
from worker.data.importer.bundled import import_bundled
from worker.data.importer.registry import import_registry
from worker.data.updates.portal import Portal
from worker.data.updates.portal import Progress as DownloadProgress
from worker.data.updates.update import Importer, UpdateReport, update_registry
from worker.errors import DataError, NumlookupError
from worker.lookup.engine import LookupEngine
from worker.service.resources import dataset_source, open_redis
from worker.settings import Settings

log = logging.getLogger(__name__)


async def ensure_dataset(settings: Settings, redis: Redis | None) -> Meta | None:
    """Import the bundled snapshot when no dataset exists yet; returns its meta, ``None`` if it did nothing.

    With Redis, "exists" means Redis names a version or the data dir has one; the snapshot is then published
    to Redis only if Redis still names none, so a replica starting late never replaces real data there.
    """
    if await dataset_source(settings, redis).current() is not None:
        return None
    store = LocalStore(settings.data_dir)
    try:
        meta = await asyncio.to_thread(
            import_bundled, store, brands=settings.data.brands, keep=settings.data.keep_versions
        )
    except (DataError, OSError) as error:  # a read-only data dir, a full disk: serve without, as before
        log.error("cannot import the bundled registry snapshot into %s: %s", store.root, error)
        return None
    if meta is None:  # a dataset appeared meanwhile (an import running beside us): it wins
        return None
    log.info(
        "no dataset yet: imported the bundled registry snapshot of %s (%s ranges) as %s",
        meta.published,
        f"{meta.ranges:,}",
        meta.version,
    )
    if redis is not None:  # the snapshot is a few MB: the service's own client uploads it
        directory, prefix = store.versions_dir / meta.version, settings.redis.prefix
        keep = settings.data.keep_versions
        try:
            if not await redis_store.publish(redis, prefix, directory, keep=keep, replace=False):
                log.info("Redis names a dataset already: the bundled snapshot stays local")
        except (RedisError, OSError) as error:
            log.warning("the bundled snapshot serves here only: publishing it to Redis failed: %s", error)
    return meta


def registry_importer(settings: Settings, progress: Progress | None = None) -> Importer:
    """The importer of portal files: the real registry import, recorded as coming from the portal."""

    def run(store: LocalStore, paths: Sequence[Path], published: date) -> Meta:
        # keep + 1: the staging store holds the current version besides the new one
        keep = settings.data.keep_versions + 1
        return import_registry(
            store,
            paths,
            brands=settings.data.brands,
            keep=keep,
            progress=progress,
            source=PORTAL,
            published=published,
        )

    return run


async def update_from_portal(
    settings: Settings,
    *,
    force: bool = False,
    insecure: bool = False,
    progress: Progress | None = None,
    downloads: DownloadProgress | None = None,
) -> UpdateReport:
    """One update run against the portal of ``settings`` into the local data dir (not Redis: the caller's)."""
    portal = Portal(
        settings.data.portal_url,
        verify=not (insecure or settings.data.portal_insecure),
        retries=settings.data.portal_retries,
        backoff=settings.data.portal_backoff,
        read_timeout=settings.data.portal_read_timeout,
    )
    async with portal:
        return await update_registry(
            LocalStore(settings.data_dir),
            portal,
            registry_importer(settings, progress),
            max_loss=settings.data.max_range_loss,
            keep=settings.data.keep_versions,
            force=force,
            progress=downloads,
        )


async def fetch_once(settings: Settings) -> UpdateReport | None:
    """The background try: the portal's registry replaces the bundled snapshot, or a warning says why not."""
    serving = LocalStore(settings.data_dir)
    try:
        report = await update_from_portal(settings)
        if report.changed and report.version is not None and settings.redis.configured:
            async with open_redis(settings, uploads=True) as uploads:
                assert uploads is not None
                keep = settings.data.keep_versions
                await redis_store.make_current(
                    uploads, settings.redis.prefix, serving, report.version, keep=keep
                )
    except (NumlookupError, RedisError, OSError) as error:
        log.warning(
            "the official registry portal could not be used (%s); the current dataset keeps serving. "
            "Import the registry files with 'numlookup data import FILE...' (docs/data.md)",
            error,
        )
        return None
    except Exception:  # task boundary: a failed background try must never stop the service
        log.exception("the background update from the portal crashed; the current dataset keeps serving")
        return None
    log.info("portal: %s", report.summary())
    return report


def serves_bundled(engine: LookupEngine) -> bool:
    """Nothing, or only the bundled snapshot, serves: what makes a start try the portal."""
    return engine.dataset is None or engine.dataset.meta.source == BUNDLED


@contextlib.asynccontextmanager
async def portal_on_start(
    settings: Settings, engine: LookupEngine, *, enabled: bool = True
) -> AsyncIterator[asyncio.Task[object] | None]:
    """While the block runs, try the portal once in the background if the bundled snapshot is serving.

    Yields the task (``None`` when nothing is tried: real data serves, ``data.fetch_on_start`` or
    ``enabled`` is off); it is cancelled when the block exits (nothing goes live before the final publish).
    """
    if not (enabled and settings.data.fetch_on_start) or not serves_bundled(engine):
        yield None
        return
    log.info("trying the official registry portal in the background: %s", settings.data.portal_url)
    task: asyncio.Task[object] = asyncio.create_task(fetch_once(settings), name="portal-on-start")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
