"""``numlookup data ...``: import, import-mnp, status, update, versions, rollback, diff, mnp-sync, learned,
gen-*.

Every command that changes which version serves runs alone (:func:`worker.service.exclusive.exclusive`: the
data dir's lock and, with Redis, the data lease) and makes the same version current in Redis too when one is
configured, so replicas follow; a failure there is an error, and the local data stays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from worker.cli import learned
from worker.cli.progress import Progress
from worker.data.dataset import redis_store
from worker.data.dataset.format import Dataset, Meta
from worker.data.dataset.store import LocalStore
from worker.data.formats.brands import Brands
from worker.data.formats.registry import registry_files
from worker.data.importer.build import Progress as BuildProgress
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import build_registry, files_digest, import_registry
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges
from worker.data.synthetic.registry import gen_registry
from worker.data.updates import history, mnpsync
from worker.data.updates.update import UpdateReport, parse_interval, run_every
from worker.errors import DataError, NumlookupError
from worker.service.exclusive import exclusive, in_thread, shown_redis
from worker.service.resources import open_redis, stop_on_signals
from worker.service.seed import update_from_portal
from worker.settings import Settings


def add_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="import, update and inspect the registry and MNP data")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    importing = sub.add_parser("import", help="import registry CSV files (files or directories)")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    importing.add_argument(
        "--published",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the registry's publication date (default: the newest modification date of the files)",
    )
    importing.add_argument(
        "--if-changed",
        action="store_true",
        help="do nothing if the serving version was imported from files with exactly this content",
    )
    importing.set_defaults(handler=cmd_import)
    mnp = sub.add_parser("import-mnp", help="apply MNP files (Port_All, increments, Operators; .csv or .zip)")
    mnp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    mnp.set_defaults(handler=cmd_import_mnp)
    status = sub.add_parser("status", help="the dataset being served: version, counts, age, where")
    status.set_defaults(handler=cmd_status)

    update = sub.add_parser("update", help="fetch the registry from the official portal and switch to it")
    update.add_argument("--force", action="store_true", help="accept a registry that lost many ranges")
    update.add_argument(
        "--every", metavar="INTERVAL", help="keep running: update every INTERVAL (6h, 30m, 1d)"
    )
    update.add_argument("--insecure", action="store_true", help="do not verify the portal's TLS certificate")
    update.set_defaults(handler=cmd_update)
    versions = sub.add_parser("versions", help="list the dataset versions kept for rollback")
    versions.set_defaults(handler=cmd_versions)
    rollback = sub.add_parser("rollback", help="serve the previous dataset version again")
    rollback.set_defaults(handler=cmd_rollback)
    diff = sub.add_parser("diff", help="what changed between two versions (default: previous → current)")
    diff.add_argument("old", nargs="?", default="previous", help="version name or prefix (default: previous)")
    diff.add_argument("new", nargs="?", default="current", help="version name or prefix (default: current)")
    diff.add_argument("--json", action="store_true", help="the full report as JSON")
    diff.add_argument("--top", type=int, default=15, help="lines per section in the text report")
    diff.set_defaults(handler=cmd_diff)
    sync = sub.add_parser(
        "mnp-sync", help="apply the new MNP files in DIR (increments, Port_All, Operators), each once"
    )
    sync.add_argument("directory", type=Path, metavar="DIR")
    sync.set_defaults(handler=cmd_mnp_sync)
    learned.add_command(sub)

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


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_import(settings, args, mnp=False))


def _serving_the_same(store: LocalStore, paths: Sequence[Path]) -> str | None:
    """The serving version if its registry was imported from files with the same content as ``paths``."""
    if store.current_version() is None:
        return None
    try:
        dataset = store.open()
    except DataError:  # e.g. a version of the previous dataset format: not servable, so import
        return None
    meta = dataset.meta
    dataset.close()
    if meta.registry_sha256 is None or meta.registry_sha256 != files_digest(registry_files(list(paths))):
        return None
    return meta.version


def unmapped_report(meta: Meta) -> str:
    """The import report's line on regions that name no federal subject (kept as the registry wrote them)."""
    shown = ", ".join(f"{region!r} ({rows:,})" for region, rows in list(meta.unmapped_regions.items())[:5])
    more = len(meta.unmapped_regions) > 5
    return (
        f"{meta.unmapped_rows:,} rows have a region that names no federal subject, kept as written: "
        f"{shown}{', ...' if more else ''}"
    )


def cmd_import_mnp(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_import(settings, args, mnp=True))


async def _import(settings: Settings, args: argparse.Namespace, *, mnp: bool) -> int:
    progress = Progress()
    store = LocalStore(settings.data_dir)
    keep, brands = settings.data.keep_versions, settings.data.brands

    def registry(report: BuildProgress) -> Meta:
        return import_registry(
            store, args.paths, brands=brands, keep=keep, progress=report, published=args.published
        )

    def ported(report: BuildProgress) -> Meta:
        return import_mnp(store, args.paths, keep=keep, progress=report, brands=brands)

    async with exclusive(settings, store, "data import-mnp" if mnp else "data import") as writer:
        if not mnp and args.if_changed and (serving := _serving_the_same(store, args.paths)) is not None:
            print(f"dataset {serving} already serves these files: nothing imported")
            return 0
        base = store.current_version()
        meta = await in_thread(ported if mnp else registry, progress)
        if mnp:
            progress.finish(f"imported MNP data: {meta.ported:,} ported numbers")
        else:
            progress.finish(f"imported {meta.ranges:,} ranges, {meta.operators:,} operators")
            if meta.unmapped_rows:
                print(unmapped_report(meta), file=sys.stderr)
        await writer.make_current(meta.version, done_locally=f"imported locally as {meta.version}")
        if mnp:
            await learned.forget_superseded(settings, meta)
    built_on = f" (built on {base})" if base else ""
    print(f"dataset {meta.version}: {meta.ranges:,} ranges, {meta.ported:,} ported numbers{built_on}")
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    store = LocalStore(settings.data_dir)
    dataset = store.open()
    meta = dataset.meta
    print(f"version:   {meta.version}")
    print(f"data:      {meta.describe(settings.data.stale_after_days)}")
    print(f"created:   {meta.created.isoformat()} ({_age(meta.age_seconds)} ago)")
    print(f"ranges:    {meta.ranges:,}")
    print(f"ported:    {meta.ported:,}")
    print(f"operators: {meta.operators:,}")
    print(f"sources:   {', '.join(meta.sources) or '-'}")
    print(f"mnp:       {', '.join(meta.mnp_sources) or '-'}")
    if meta.unmapped_rows:
        print(f"regions:   {unmapped_report(meta)}")
    print(f"local:     {store.root} ({len(store.versions())} versions kept)")
    if settings.redis.configured:
        print(f"redis:     {shown_redis(settings)} {_redis_status(settings, meta.version)}")
    dataset.close()
    return 0


def _redis_status(settings: Settings, local: str) -> str:
    async def read() -> str | None:
        async with open_redis(settings) as redis:
            assert redis is not None
            return await redis_store.current_version(redis, settings.redis.prefix)

    try:
        version = asyncio.run(read())
    except (RedisError, OSError) as error:
        return f"unreachable ({error})"
    if version is None:
        return "(nothing published)"
    return f"current {version}" + (" (same as local)" if version == local else " (differs from local)")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def cmd_update(settings: Settings, args: argparse.Namespace) -> int:
    if args.every is None:
        try:
            asyncio.run(_update_once(settings, args))
        except NumlookupError as error:
            raise _keeps(error, LocalStore(settings.data_dir).current_version()) from error
        return 0
    interval = parse_interval(args.every)
    asyncio.run(_update_forever(settings, args, interval))
    return 0


async def _update_once(settings: Settings, args: argparse.Namespace) -> UpdateReport:
    store = LocalStore(settings.data_dir)
    async with exclusive(settings, store, "data update") as writer:
        report = await update_from_portal(
            settings,
            force=args.force,
            insecure=args.insecure,
            progress=Progress(),
            downloads=Progress(unit="B"),
        )
        if report.changed and report.version is not None:
            await writer.make_current(report.version, done_locally=f"{report.version} is current locally")
    print(report.summary(), flush=True)
    return report


def _keeps(error: NumlookupError, current: str | None) -> NumlookupError:
    """The same error, saying what keeps serving."""
    if "keeps serving" in str(error):
        return error
    serving = f"{current} keeps serving" if current else "no dataset imported yet"
    return NumlookupError(f"update failed: {error} — {serving}")


async def _update_forever(settings: Settings, args: argparse.Namespace, interval: float) -> None:
    with stop_on_signals() as stop:
        await run_every(interval, lambda: _update_once(settings, args), stop)


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
    return asyncio.run(_rollback(settings))


async def _rollback(settings: Settings) -> int:
    store = LocalStore(settings.data_dir)
    async with exclusive(settings, store, "data rollback") as writer:
        current = store.current_version()
        kept = sorted({*store.versions(), *await writer.redis_versions()})
        target = history.previous_version(store, current, kept)
        await writer.ensure_local(target)
        await writer.make_current(target, done_locally=f"{target} is current locally")
    print(f"rolled back: {target} now serving (was {current})")
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
    print(text, flush=True)
    return 0


def cmd_mnp_sync(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_mnp_sync(settings, args))


async def _mnp_sync(settings: Settings, args: argparse.Namespace) -> int:
    progress = Progress()
    keep, brands = settings.data.keep_versions, settings.data.brands
    store = LocalStore(settings.data_dir)
    async with exclusive(settings, store, "data mnp-sync") as writer:

        def run(report: BuildProgress) -> mnpsync.SyncReport:
            def importer(target: LocalStore, paths: Sequence[Path]) -> Meta:
                return import_mnp(target, paths, keep=keep, progress=report, brands=brands)

            return mnpsync.sync(store, args.directory, importer)

        report = await in_thread(run, progress)
        if report.applied and report.version is not None:
            await writer.make_current(report.version, done_locally=f"{report.version} is current locally")
            dataset = store.open(report.version)
            await learned.forget_superseded(settings, dataset.meta)
            dataset.close()
    print(report.summary())
    return 0


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
