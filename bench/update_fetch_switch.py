"""Time to fetch-and-switch a full-size registry from a local fake portal.

The fake portal (tests/update/portal_fake.py: nginx-style listing, browser UA required) runs in its own
process and serves a synthetic full-size registry (``numlookup data gen-registry``: ~450,000 ranges in the
four files, ~30 MB). Three runs of the real ``update_registry`` with the real importer:

1. first fetch into an empty data dir;
2. again with nothing changed on the portal (listing only: the skip);
   then ``--ported`` ported numbers are imported (a synthetic Port_All, so the next run carries them over);
3. the portal publishes a new registry (another seed, new times): download, import, gate, publish —
   while an engine follows the store with ``follow()``; prints when it serves the new version.

    python bench/update_fetch_switch.py [--ranges 450000] [--ported 5000000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.update.portal_fake import FakePortal
from worker.data.dataset.format import PORTAL, Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges
from worker.data.synthetic.registry import gen_registry
from worker.data.updates.portal import Portal
from worker.data.updates.update import update_registry
from worker.lookup.engine import LookupEngine
from worker.service.reload import LocalSource, follow
from worker.settings import default_brands_file

CACHE = Path("/tmp/numlookup-bench")


def registry(ranges: int, seed: int) -> list[Path]:
    """A synthetic registry, cached between runs under /tmp/numlookup-bench."""
    directory = CACHE / f"update-registry-{ranges}-{seed}"
    files = sorted(directory.glob("*.csv"))
    if len(files) == 4:
        return files
    return gen_registry(directory, ranges, seed=seed)


def import_ported(store: LocalStore, numbers: int) -> str:
    dataset = store.open()
    ranges = mobile_ranges(dataset.range_array(), [operator.inn for operator in dataset.operators])
    dataset.close()
    with tempfile.TemporaryDirectory(prefix="numlookup-mnp-") as tmp:
        began = time.monotonic()
        files = gen_mnp(Path(tmp), ranges, numbers=numbers, increments=0)
        generated = time.monotonic() - began
        meta = import_mnp(store, files, keep=5)
    return f"{meta.ported:,} ported numbers imported (files generated in {generated:.1f} s)"


def serve(files: Sequence[Path], modified: datetime, port: int) -> None:
    """The portal process."""
    fake = FakePortal()
    for path in files:
        fake.publish(path.name, path.read_bytes(), modified)
    web.run_app(fake.app(), host="127.0.0.1", port=port, print=None, access_log=None)


class PortalProcess:
    def __init__(self, files: Sequence[Path], modified: datetime, port: int) -> None:
        self.process = multiprocessing.Process(target=serve, args=(files, modified, port), daemon=True)

    async def __aenter__(self) -> None:
        self.process.start()

    async def __aexit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join()


async def wait_listening(url: str) -> None:
    async with Portal(url, retries=50, backoff=0.05) as portal:
        await portal.listing()


async def timed_update(store: LocalStore, url: str) -> tuple[float, float, str]:
    """(total seconds, of which import seconds, summary)."""
    spent: list[float] = []

    def importer(target: LocalStore, paths: Sequence[Path], published: date) -> Meta:
        began = time.monotonic()
        meta = import_registry(
            target, paths, brands=default_brands_file(), keep=6, source=PORTAL, published=published
        )
        spent.append(time.monotonic() - began)
        return meta

    began = time.monotonic()
    async with Portal(url, backoff=0.5) as portal:
        report = await update_registry(store, portal, importer, max_loss=0.5, keep=5)
    return time.monotonic() - began, sum(spent), report.summary()


async def bench(args: argparse.Namespace) -> None:
    first, second = registry(args.ranges, 1), registry(args.ranges, 2)
    size = sum(path.stat().st_size for path in first)
    print(f"registry: {args.ranges:,} ranges requested, 4 files, {size / 1e6:.1f} MB")
    url = f"http://127.0.0.1:{args.port}/downloads/"
    with tempfile.TemporaryDirectory(prefix="numlookup-fetch-") as tmp:
        store = LocalStore(Path(tmp))
        async with PortalProcess(first, datetime(2026, 7, 18, 3, 12), args.port):
            await wait_listening(url)
            total, imported, summary = await timed_update(store, url)
            print(
                f"1. first fetch: {total:.2f} s (download {total - imported:.2f} s, import+publish "
                f"{imported:.2f} s)\n   {summary}"
            )
            total, _, summary = await timed_update(store, url)
            print(f"2. unchanged:   {total * 1000:.0f} ms\n   {summary}")
        if args.ported:
            print(f"   {await asyncio.to_thread(import_ported, store, args.ported)}")
        engine = LookupEngine(store.open())
        switched = asyncio.Event()
        use = engine.use

        def signalling(dataset: object) -> object:
            previous = use(dataset)  # type: ignore[arg-type]
            switched.set()
            return previous

        engine.use = signalling  # type: ignore[assignment]
        follower = asyncio.create_task(follow(LocalSource(store), engine, interval=0.1))
        async with PortalProcess(second, datetime(2026, 8, 19, 14, 5), args.port):
            await wait_listening(url)
            began = time.monotonic()
            total, imported, summary = await timed_update(store, url)
            await switched.wait()
            served = time.monotonic() - began
            print(
                f"3. new registry: update {total:.2f} s (download {total - imported:.2f} s, import+gate+"
                f"publish {imported:.2f} s); the following engine served it {served:.2f} s after the "
                f"update began\n   {summary}\n   ported numbers carried over: {store.open().ported_count:,}"
            )
        follower.cancel()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranges", type=int, default=450_000)
    parser.add_argument("--ported", type=int, default=5_000_000)
    parser.add_argument("--port", type=int, default=18431)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
