"""``numlookup data update``: fetch the registry from the portal, gate it, and switch to it with no gap.

One run::

    listing → which of the four files changed (modification time and size vs. portal/state.json)
            → download those into tmp/ (complete and checked, see worker.data.updates.portal)
            → import all four into a *staging* store that shares the current version by hard links
            → sanity gate: refuse a registry that lost more than ``max_range_loss`` of the ranges
            → publish into the real store (one rename + one CURRENT replace) → remember the files

Every failure before the last step leaves ``CURRENT`` untouched, so the current dataset keeps serving; the
downloaded files are kept in ``portal/`` so the next run downloads only what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.updates.portal import REGISTRY_FILES, Fetched, Listed, Portal, Progress
from worker.errors import ConfigError, NumlookupError, PortalError, SanityCheckFailed

log = logging.getLogger(__name__)

STATE_FILE: Final = "state.json"

# Builds and publishes a version into a store from the files, given the registry's publication date.
Importer = Callable[[LocalStore, Sequence[Path], date], Meta]


@dataclass
class UpdateReport:
    changed: bool
    version: str | None  # the version serving after the run
    previous: str | None
    downloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ranges: int = 0
    previous_ranges: int = 0
    unmapped_rows: int = 0  # rows whose region names no federal subject (docs/data.md), kept as written

    def summary(self) -> str:
        if not self.changed:
            return f"registry unchanged on the portal; {self.version} keeps serving"
        fetched = ", ".join(self.downloaded) or "nothing"
        unmapped = f"; {self.unmapped_rows:,} rows name no federal subject" if self.unmapped_rows else ""
        return (
            f"dataset {self.version} now serving ({self.previous_ranges:,} → {self.ranges:,} ranges; "
            f"downloaded {fetched}; previous {self.previous or 'none'}{unmapped})"
        )


class PortalState:
    """What the last successful update fetched: per file the listed time and size, and the checksum."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE
        try:
            self.files: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))["files"]
        except FileNotFoundError:
            self.files = {}
        except (ValueError, KeyError, TypeError) as error:
            log.warning("%s is unreadable (%s): every file will be downloaded again", self.path, error)
            self.files = {}

    def cached(self, name: str) -> Path:
        return self.directory / name

    def is_fresh(self, listed: Listed) -> bool:
        """The cached copy is what the portal lists now (same time and size) and is still intact on disk."""
        record = self.files.get(listed.name)
        if record is None or listed.modified is None or record.get("modified") != listed.modified:
            return False
        if listed.size is not None and record.get("size") != listed.size:
            return False
        path = self.cached(listed.name)
        return path.is_file() and path.stat().st_size == record.get("size")

    def same_content(self, fetched: Fetched) -> bool:
        record = self.files.get(fetched.name)
        return (
            record is not None
            and record.get("sha256") == fetched.sha256
            and self.cached(fetched.name).is_file()
        )

    def remember(self, fetched: Fetched, listed: Listed) -> None:
        """Keep ``fetched`` as the cached copy (moving it) and record it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if fetched.path != self.cached(fetched.name):
            os.replace(fetched.path, self.cached(fetched.name))
        self.files[fetched.name] = {
            "modified": listed.modified,
            "size": fetched.size,
            "sha256": fetched.sha256,
        }

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps({"files": self.files}, indent=1), encoding="utf-8")
        os.replace(staging, self.path)


def check_loss(
    previous: int, new: int, max_loss: float, *, force: bool = False, serving: str = "the current dataset"
) -> None:
    """Refuse a registry with more than ``max_loss`` (a share) fewer ranges than the one serving."""
    if previous <= 0 or new >= previous:
        return
    lost = (previous - new) / previous
    if lost <= max_loss:
        return
    message = (
        f"the new registry has {new:,} ranges, {lost:.1%} fewer than the {previous:,} serving now "
        f"(limit {max_loss:.1%}): refused, {serving} keeps serving; rerun with --force if the "
        "portal really dropped them"
    )
    if force:
        log.warning("%s — accepted because of --force", message.split(": refused")[0])
        return
    raise SanityCheckFailed(message)


def _link_tree(source: Path, target: Path) -> None:
    """Share an immutable version directory by hard links (a copy where links are impossible)."""
    target.mkdir(parents=True)
    for entry in source.iterdir():
        try:
            os.link(entry, target / entry.name)
        except OSError:
            shutil.copy2(entry, target / entry.name)


@contextlib.contextmanager
def staging_store(store: LocalStore) -> Iterator[LocalStore]:
    """A throw-away store under ``tmp/`` whose current version is the real store's current one.

    An importer builds and publishes into it exactly as into the real store (carrying the ported numbers
    over), but nothing serves from it: the caller gates the result and only then publishes it for real.
    """
    (store.root / "tmp").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="update-", dir=store.root / "tmp"))
    try:
        staging = LocalStore(root)
        current = store.current_version()
        if current is not None:
            _link_tree(store.versions_dir / current, staging.versions_dir / current)
            staging.point_to(current)
        yield staging
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_gated(
    store: LocalStore,
    paths: Sequence[Path],
    importer: Importer,
    *,
    max_loss: float,
    force: bool,
    keep: int,
    published: date,
) -> tuple[Meta, int]:
    """Import ``paths`` in a staging store, gate, publish; returns the new meta and the old range count."""
    current = store.current_version()
    previous_ranges = 0
    if current is not None:
        serving = store.open(current)
        previous_ranges = serving.meta.ranges
        serving.close()
    with staging_store(store) as staging:
        meta = importer(staging, paths, published)
        check_loss(previous_ranges, meta.ranges, max_loss, force=force, serving=current or "nothing")
        store.publish(staging.versions_dir / meta.version, meta.version, keep=keep)
    return meta, previous_ranges


async def update_registry(
    store: LocalStore,
    portal: Portal,
    importer: Importer,
    *,
    max_loss: float,
    keep: int,
    force: bool = False,
    progress: Progress | None = None,
) -> UpdateReport:
    """One update run (see the module docstring); raises a :class:`NumlookupError` with the reason."""
    state = PortalState(store.root / "portal")
    previous = store.current_version()
    listing = await portal.listing()
    missing = [name for name in REGISTRY_FILES if name not in listing]
    if missing:
        raise PortalError(portal.base_url, f"the listing has no {', '.join(missing)}")
    stale = [name for name in REGISTRY_FILES if not state.is_fresh(listing[name])]
    report = UpdateReport(False, previous, previous, unchanged=[n for n in REGISTRY_FILES if n not in stale])
    if not stale and previous is not None:
        return report
    with tempfile.TemporaryDirectory(prefix="download-", dir=_tmp(store)) as scratch:
        fetched = [await portal.download(name, Path(scratch), progress) for name in stale]
        report.downloaded = [item.name for item in fetched if not state.same_content(item)]
        if not report.downloaded and previous is not None:
            for item in fetched:  # only the listed times moved: remember them, import nothing
                state.remember(item, listing[item.name])
            state.save()
            return report
        new_paths = {item.name: item.path for item in fetched}
        paths = [new_paths.get(name, state.cached(name)) for name in REGISTRY_FILES]
        meta, report.previous_ranges = await asyncio.to_thread(
            build_gated,
            store,
            paths,
            importer,
            max_loss=max_loss,
            force=force,
            keep=keep,
            published=listed_date([listing[name] for name in REGISTRY_FILES]),
        )
        for item in fetched:
            state.remember(item, listing[item.name])
        state.save()
    report.changed, report.version, report.ranges = True, meta.version, meta.ranges
    report.unmapped_rows = meta.unmapped_rows
    return report


def listed_date(files: Sequence[Listed]) -> date:
    """The registry's publication date: the newest date the listing shows for its files (today if none)."""
    dates = [datetime.fromisoformat(item.modified).date() for item in files if item.modified]
    return max(dates) if dates else datetime.now(UTC).date()


def _tmp(store: LocalStore) -> Path:
    path = store.root / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``6h``, ``1d`` → seconds."""
    match = _INTERVAL.match(text)
    if match is None or float(match[1]) <= 0:
        raise ConfigError(f"not an interval: {text!r} (examples: 30m, 6h, 1d)")
    return float(match[1]) * _UNIT[match[2].lower()]


async def run_every(interval: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event) -> int:
    """Run ``job`` now and then every ``interval`` seconds until ``stop`` is set; returns the runs started.

    A failed run is one log line and the next run happens on schedule; ``stop`` also cancels a run in
    progress (safe: nothing goes live before the final atomic publish).
    """
    runs = 0
    while not stop.is_set():
        runs += 1
        task = asyncio.ensure_future(job())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except NumlookupError as error:
                log.error("update failed, the current dataset keeps serving: %s", error)
            except Exception:  # task boundary: the schedule must survive any failure
                log.exception("update crashed, the current dataset keeps serving")
        if stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return runs
