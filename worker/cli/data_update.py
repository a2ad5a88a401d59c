"""The update commands of the ``numlookup data`` group: update, versions, rollback, diff, mnp-sync.

Registered by :func:`add_commands`, listed in ``worker.cli.main.COMMAND_MODULES`` after ``worker.cli.data``:
it finds the ``data`` group that module created (or creates it, if this module runs alone) and adds to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TextIO

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.cli.data import TerminalProgress
from worker.data.dataset import redis_store
from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer.build import Progress
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.data.updates import history, mnpsync
from worker.data.updates.portal import Portal
from worker.data.updates.update import Importer, UpdateReport, parse_interval, run_every, update_registry
from worker.errors import DataError, NumlookupError
from worker.settings import Settings


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = subparsers.choices.get("data") or subparsers.add_parser("data", help="manage the dataset")
    commands = _subcommands(data)

    update = commands.add_parser(
        "update", help="fetch the registry from the official portal and switch to it"
    )
    update.add_argument("--force", action="store_true", help="accept a registry that lost many ranges")
    update.add_argument(
        "--every", metavar="INTERVAL", help="keep running: update every INTERVAL (6h, 30m, 1d)"
    )
    update.add_argument("--insecure", action="store_true", help="do not verify the portal's TLS certificate")
    update.set_defaults(handler=cmd_update)

    versions = commands.add_parser("versions", help="list the dataset versions kept for rollback")
    versions.set_defaults(handler=cmd_versions)

    rollback = commands.add_parser("rollback", help="serve the previous dataset version again")
    rollback.set_defaults(handler=cmd_rollback)

    diff = commands.add_parser("diff", help="what changed between two versions (default: previous → current)")
    diff.add_argument("old", nargs="?", default="previous", help="version name or prefix (default: previous)")
    diff.add_argument("new", nargs="?", default="current", help="version name or prefix (default: current)")
    diff.add_argument("--json", action="store_true", help="the full report as JSON")
    diff.add_argument("--top", type=int, default=15, help="lines per section in the text report")
    diff.set_defaults(handler=cmd_diff)

    sync = commands.add_parser(
        "mnp-sync", help="apply the new MNP files in DIR (increments, Port_All, Operators), each once"
    )
    sync.add_argument("directory", type=Path, metavar="DIR")
    sync.set_defaults(handler=cmd_mnp_sync)


def _subcommands(group: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in group._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return group.add_subparsers(dest="data_command", required=True, metavar="COMMAND")


class DownloadProgress:
    """One self-overwriting line on a terminal; a line per finished file otherwise (logs, systemd)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.last = 0.0

    def __call__(self, name: str, done: int, total: int | None) -> None:
        finished = total is not None and done >= total
        now = time.monotonic()
        if self.tty and (finished or now - self.last > 0.1):
            self.last = now
            share = f" {done / total:6.1%}" if total else ""
            end = "\n" if finished else ""
            self.out.write(f"\r{name}: {done / 1e6:8.1f} MB{share}{end}")
            self.out.flush()
        elif finished:
            self.out.write(f"{name}: {done:,} bytes downloaded\n")


def _registry_importer(settings: Settings, progress: Progress) -> Importer:
    def run(store: LocalStore, paths: Sequence[Path]) -> Meta:
        # keep + 1: the staging store holds the current version besides the new one
        keep = settings.data.keep_versions + 1
        return import_registry(store, paths, brands=settings.data.brands, keep=keep, progress=progress)

    return run


@contextlib.asynccontextmanager
async def _redis(settings: Settings) -> AsyncIterator[Redis | None]:
    """A client for publishing versions (a long socket timeout: a version is a 100 MB upload)."""
    if not settings.redis.url:
        yield None
        return
    client = Redis.from_url(
        settings.redis.url, socket_timeout=120, socket_connect_timeout=settings.redis.timeout
    )
    try:
        yield client
    finally:
        await client.aclose()


async def make_current_in_redis(settings: Settings, store: LocalStore, version: str) -> None:
    """With Redis configured, make ``version`` what every replica serves (uploading it if Redis lacks it)."""
    async with _redis(settings) as client:
        if client is None:
            return
        keys = redis_store.Keys(settings.redis.prefix)
        try:
            if await client.exists(keys.manifest(version)):
                await client.set(keys.current, version)
                await client.publish(keys.channel, version)
            else:
                directory = store.versions_dir / version
                await redis_store.publish(
                    client, settings.redis.prefix, directory, keep=settings.data.keep_versions
                )
        except (RedisError, OSError) as error:
            raise DataError(
                f"{version} is current locally, but setting it in Redis failed: {error}"
            ) from error
    print(f"{version} is current in Redis at {settings.redis.url}", file=sys.stderr)


async def _update_once(settings: Settings, args: argparse.Namespace) -> UpdateReport:
    store = LocalStore(settings.data_dir)
    portal = Portal(
        settings.data.portal_url,
        verify=not (args.insecure or settings.data.portal_insecure),
        retries=settings.data.portal_retries,
        backoff=settings.data.portal_backoff,
        read_timeout=settings.data.portal_read_timeout,
    )
    async with portal:
        report = await update_registry(
            store,
            portal,
            _registry_importer(settings, TerminalProgress()),
            max_loss=settings.data.max_range_loss,
            keep=settings.data.keep_versions,
            force=args.force,
            progress=DownloadProgress(),
        )
    if report.changed and report.version is not None:
        await make_current_in_redis(settings, store, report.version)
    print(report.summary(), flush=True)
    return report


def cmd_update(settings: Settings, args: argparse.Namespace) -> int:
    if args.every is None:
        try:
            asyncio.run(_update_once(settings, args))
        except NumlookupError as error:
            raise _keeps(error, LocalStore(settings.data_dir).current_version()) from error
        return 0
    interval = parse_interval(args.every)
    return asyncio.run(_update_forever(settings, args, interval))


def _keeps(error: NumlookupError, current: str | None) -> NumlookupError:
    """The same error, saying what keeps serving."""
    if "keeps serving" in str(error):
        return error
    serving = f"{current} keeps serving" if current else "no dataset imported yet"
    return NumlookupError(f"update failed: {error} — {serving}")


async def _update_forever(settings: Settings, args: argparse.Namespace, interval: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_every(interval, lambda: _update_once(settings, args), stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0


def cmd_versions(settings: Settings, args: argparse.Namespace) -> int:
    infos = history.list_versions(LocalStore(settings.data_dir))
    if not infos:
        print("no dataset versions yet: run 'numlookup data update' or 'numlookup data import'")
        return 1
    for info in infos:
        meta = info.meta
        mark = "*" if info.current else " "
        sources = ", ".join(Path(source).name for source in meta.sources + meta.mnp_sources)
        print(
            f"{mark} {meta.version}  {meta.created:%Y-%m-%d %H:%M} UTC  "
            f"{meta.ranges:>8,} ranges {meta.ported:>11,} ported  {sources}"
        )
    return 0


def cmd_rollback(settings: Settings, args: argparse.Namespace) -> int:
    store = LocalStore(settings.data_dir)
    old, new = history.rollback(store)
    asyncio.run(make_current_in_redis(settings, store, new))
    print(f"rolled back: {new} now serving (was {old})")
    return 0


def cmd_diff(settings: Settings, args: argparse.Namespace) -> int:
    store = LocalStore(settings.data_dir)
    old, new = history.resolve(store, args.old), history.resolve(store, args.new)
    report = history.diff_versions(store, old, new)
    text = (
        json.dumps(report.to_json(), ensure_ascii=False, indent=1)
        if args.json
        else history.render(report, top=args.top)
    )
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `numlookup data diff | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_mnp_sync(settings: Settings, args: argparse.Namespace) -> int:
    progress = TerminalProgress()

    def run(store: LocalStore, paths: Sequence[Path]) -> Meta:
        keep = settings.data.keep_versions
        return import_mnp(store, paths, keep=keep, progress=progress, brands=settings.data.brands)

    store = LocalStore(settings.data_dir)
    report = mnpsync.sync(store, args.directory, run)
    if report.applied and report.version is not None:
        asyncio.run(make_current_in_redis(settings, store, report.version))
    print(report.summary())
    return 0
