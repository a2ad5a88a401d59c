"""``numlookup data learned``: the ported numbers upstream MNP sources taught us — list, export, clear.

They live where the upstream cache does (Redis when configured, else ``upstream-cache.sqlite3`` in the data
dir). A learned port older than the served dataset's last MNP import is *superseded*: lookups ignore it
and answer from the official data.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from redis.exceptions import RedisError

from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.errors import DataError, NumlookupError
from worker.lookup.upstream.store import SQLITE_FILE, Entry, SqliteStore
from worker.service.resources import open_redis, upstream_store
from worker.settings import Settings

COLUMNS: Final = ("number", "operator", "inn", "old_operator", "source", "learned", "superseded")


def add_command(sub: Any) -> None:
    learned = sub.add_parser(
        "learned", help="list, export (--export) or clear (--clear) learned ported numbers"
    )
    action = learned.add_mutually_exclusive_group()
    action.add_argument("--export", type=Path, metavar="FILE", help="write them as CSV to FILE ('-': stdout)")
    action.add_argument("--clear", action="store_true", help="forget them all")
    learned.set_defaults(handler=cmd_learned)


def cmd_learned(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_learned(settings, args))
    except (RedisError, OSError) as error:
        raise DataError(f"the upstream cache cannot be read: {error}") from error


async def _learned(settings: Settings, args: argparse.Namespace) -> int:
    async with open_redis(settings) as redis:
        store = upstream_store(settings, redis)
        try:
            if args.clear:
                count = await store.clear_learned()
                print(f"forgot {count:,} learned ported numbers", file=sys.stderr)
                return 0
            rows = [_row(digits, entry, _mnp_updated(settings)) async for digits, entry in store.learned()]
        finally:
            if isinstance(store, SqliteStore):
                store.close()
    if args.export is None:
        _table(rows, sys.stdout)
    elif str(args.export) == "-":
        _csv(rows, sys.stdout)
    else:
        with args.export.open("w", encoding="utf-8", newline="") as out:
            _csv(rows, out)
        print(f"exported {len(rows):,} learned ported numbers to {args.export}", file=sys.stderr)
    return 0


async def forget_superseded(settings: Settings, meta: Meta) -> None:
    """After an MNP import: drop the learned ports it supersedes (lookups ignore them already). A failure
    here is a warning: the import itself is done."""
    if meta.mnp_updated is None:
        return
    if not settings.redis.configured and not (settings.data_dir / SQLITE_FILE).exists():
        return  # no upstream cache here

    async def forget(before: float) -> int:
        async with open_redis(settings) as redis:
            store = upstream_store(settings, redis)
            try:
                return await store.forget_learned_before(before)
            finally:
                if isinstance(store, SqliteStore):
                    store.close()

    try:
        count = await forget(meta.mnp_updated.timestamp())
    except (RedisError, OSError) as error:
        print(f"numlookup: learned ports not pruned: {error}", file=sys.stderr)
        return
    if count:
        print(f"the MNP data supersedes {count:,} learned ported numbers: forgotten", file=sys.stderr)


def _mnp_updated(settings: Settings) -> float | None:
    try:
        dataset = LocalStore(settings.data_dir).open()
    except NumlookupError:
        return None
    updated = dataset.meta.mnp_updated
    dataset.close()
    return None if updated is None else updated.timestamp()


def _row(digits: str, entry: Entry, mnp_updated: float | None) -> dict[str, str]:
    verdict = entry.verdict
    return {
        "number": digits,
        "operator": verdict.operator if verdict else "",
        "inn": verdict.inn if verdict else "",
        "old_operator": verdict.old_operator if verdict else "",
        "source": entry.source,
        "learned": datetime.fromtimestamp(entry.at, UTC).isoformat(timespec="seconds"),
        "superseded": "yes" if mnp_updated is not None and entry.at < mnp_updated else "",
    }


def _csv(rows: list[dict[str, str]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


def _table(rows: list[dict[str, str]], out: TextIO) -> None:
    for row in rows:
        note = " (superseded by MNP data)" if row["superseded"] else ""
        old = f" ← {row['old_operator']}" if row["old_operator"] else ""
        print(f"{row['number']}  {row['operator']}{old}  {row['source']} {row['learned']}{note}", file=out)
    print(f"{len(rows):,} learned ported numbers", file=sys.stderr)
