"""``numlookup data ...``: import, import-mnp, status, gen-registry, gen-mnp."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.data.dataset import redis_store
from worker.data.dataset.format import Dataset, Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges
from worker.data.synthetic.registry import gen_registry
from worker.errors import DataError
from worker.settings import Settings


class TerminalProgress:
    """A progress line on stderr, redrawn at most four times a second; only the final line off a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.last = 0.0
        self.stage = ""
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        changed = stage != self.stage
        self.stage = stage
        if self.live and (changed or now - self.last >= 0.25 or done >= total):
            self.last = now
            percent = 100 * done // max(total, 1)
            self.stream.write(f"\r\x1b[K{stage}: {done:,}/{total:,} ({percent}%)")
            self.stream.flush()

    def finish(self, message: str) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"{message} in {time.monotonic() - self.started:.1f} s\n")
        self.stream.flush()


def add_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="import and inspect the registry and MNP data")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    importing = sub.add_parser("import", help="import registry CSV files (files or directories)")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    importing.set_defaults(handler=cmd_import)
    mnp = sub.add_parser("import-mnp", help="apply MNP files (Port_All, increments, Operators; .csv or .zip)")
    mnp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    mnp.set_defaults(handler=cmd_import_mnp)
    status = sub.add_parser("status", help="the dataset being served: version, counts, age, where")
    status.set_defaults(handler=cmd_status)
    registry = sub.add_parser("gen-registry", help="write a synthetic full-size registry (8-column format)")
    registry.add_argument("outdir", type=Path)
    registry.add_argument("--ranges", type=int, default=450_000)
    registry.add_argument("--seed", type=int, default=1)
    registry.set_defaults(handler=cmd_gen_registry)
    gen = sub.add_parser("gen-mnp", help="write synthetic MNP files over the current dataset's mobile ranges")
    gen.add_argument("outdir", type=Path)
    gen.add_argument("--numbers", type=int, required=True)
    gen.add_argument("--increments", type=int, default=2)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--registry", type=Path, nargs="*", help="draw from these registry files instead")
    gen.set_defaults(handler=cmd_gen_mnp)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    progress = TerminalProgress()
    store = LocalStore(settings.data_dir)
    meta = import_registry(
        store, args.paths, brands=settings.data.brands, keep=settings.data.keep_versions, progress=progress
    )
    progress.finish(f"imported {meta.ranges:,} ranges, {meta.operators:,} operators")
    _publish_to_redis(settings, store, meta)
    print(f"dataset {meta.version}: {meta.ranges:,} ranges, {meta.ported:,} ported numbers")
    return 0


def cmd_import_mnp(settings: Settings, args: argparse.Namespace) -> int:
    progress = TerminalProgress()
    store = LocalStore(settings.data_dir)
    meta = import_mnp(
        store, args.paths, keep=settings.data.keep_versions, progress=progress, brands=settings.data.brands
    )
    progress.finish(f"imported MNP data: {meta.ported:,} ported numbers")
    _publish_to_redis(settings, store, meta)
    print(f"dataset {meta.version}: {meta.ranges:,} ranges, {meta.ported:,} ported numbers")
    return 0


def _publish_to_redis(settings: Settings, store: LocalStore, meta: Meta) -> None:
    if settings.redis.url:
        redis_store.publish_settings(settings, store, meta.version)
        print(f"published {meta.version} to Redis at {shown_url(settings.redis.url)}", file=sys.stderr)


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    store = LocalStore(settings.data_dir)
    dataset = store.open()
    meta = dataset.meta
    print(f"version:   {meta.version}")
    print(f"created:   {meta.created.isoformat()} ({_age(meta.age_seconds)} ago)")
    print(f"ranges:    {meta.ranges:,}")
    print(f"ported:    {meta.ported:,}")
    print(f"operators: {meta.operators:,}")
    print(f"sources:   {', '.join(meta.sources) or '-'}")
    print(f"mnp:       {', '.join(meta.mnp_sources) or '-'}")
    print(f"local:     {store.root} ({len(store.versions())} versions kept)")
    if settings.redis.url:
        print(f"redis:     {shown_url(settings.redis.url)} {_redis_status(settings, meta.version)}")
    dataset.close()
    return 0


def _redis_status(settings: Settings, local: str) -> str:
    async def read() -> str | None:
        client = Redis.from_url(settings.redis.url or "", socket_timeout=settings.redis.timeout)
        try:
            return await redis_store.current_version(client, settings.redis.prefix)
        finally:
            await client.aclose()

    try:
        version = asyncio.run(read())
    except (RedisError, OSError) as error:
        return f"unreachable ({error})"
    if version is None:
        return "(nothing published)"
    return f"current {version}" + (" (same as local)" if version == local else " (differs from local)")


def shown_url(url: str) -> str:
    """The Redis URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def cmd_gen_registry(settings: Settings, args: argparse.Namespace) -> int:
    if args.ranges < 1:
        raise DataError("--ranges must be at least 1")
    for path in gen_registry(args.outdir, args.ranges, seed=args.seed):
        print(path)
    return 0


def cmd_gen_mnp(settings: Settings, args: argparse.Namespace) -> int:
    if args.numbers < 1 or args.increments < 0:
        raise DataError("--numbers must be at least 1 and --increments not negative")
    if args.registry:
        from worker.data.formats.brands import Brands
        from worker.data.importer.registry import build_registry

        build = build_registry(args.registry, Brands.load(settings.data.brands))
        ranges = mobile_ranges(build.ranges, [operator.inn for operator in build.operators])
    else:
        dataset: Dataset = LocalStore(settings.data_dir).open()
        ranges = mobile_ranges(dataset.range_array(), [operator.inn for operator in dataset.operators])
        dataset.close()
    if not ranges or any(not item.holder_inn for item in ranges):
        raise DataError("the registry has no mobile ranges with an ИНН to draw numbers from")
    for path in gen_mnp(
        args.outdir, ranges, numbers=args.numbers, increments=args.increments, seed=args.seed
    ):
        print(path)
    return 0
