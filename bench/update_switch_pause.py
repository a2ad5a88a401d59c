"""The pause a running API sees while it switches to a new full-size dataset version.

An aiohttp app around the engine (the API's shape: one lookup per request) follows the store with the real
``follow()`` loop; a load generator in *another process* keeps 16 requests in flight and records every
latency; an event-loop probe in the server records how late a 1 ms timer fires (the pause any asyncio front
end — API, AMI worker, FastAGI — sees). First a baseline window with no switch, then SWITCHES switches, each
publishing a new full-size version (450,000 ranges, 5 M ported numbers). Prints the latency percentiles of
both windows, the worst loop lag, and how long a switch takes from publish to serving.

    python bench/update_switch_pause.py [--switches 6] [--ranges 450000] [--ported 5000000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.answer.model import Operator, RussianAnswer
from worker.data.dataset.format import RANGE_DTYPE, Meta
from worker.data.dataset.store import LocalStore
from worker.data.dataset.writer import new_version, write_dataset
from worker.lookup.engine import LookupEngine
from worker.service.reload import LocalSource, follow

WINDOW = 4.0  # seconds of load per phase


def build_version(store: LocalStore, ranges: int, ported: int, seed: int) -> str:
    """A synthetic full-size version: ``ranges`` contiguous ranges over 9xx/3xx-8xx, random ported numbers."""
    rng = np.random.default_rng(seed)
    starts = np.linspace(3_000_000_000, 9_999_000_000, ranges, dtype=np.int64)
    table = np.zeros(ranges, dtype=RANGE_DTYPE)
    table["start"], table["end"] = starts, np.append(starts[1:] - 1, 9_999_999_999)
    table["operator"] = rng.integers(0, 300, ranges)
    table["region"] = rng.integers(0, 90, ranges)
    table["type"] = (starts // 10_000_000 >= 900).astype(np.uint8)
    numbers = np.unique(rng.integers(9_000_000_000, 9_999_999_999, ported, dtype=np.int64)).astype(np.uint64)
    operators = [Operator(f"{7700000000 + i}", f"Оператор {seed}-{i}", f"op{i}") for i in range(300)]
    version = new_version()
    scratch = store.scratch()
    write_dataset(
        scratch,
        meta=Meta(version, datetime.now(UTC), ranges, len(numbers), 300, ["synthetic"]),
        operators=operators,
        regions=[f"Регион {i}" for i in range(90)],
        ranges=table,
        ported_numbers=numbers,
        ported_operators=rng.integers(0, 300, len(numbers)).astype(np.uint16),
    )
    store.publish(scratch, version, keep=5)
    return version


def load_generator(url: str, seconds: float, out: Any) -> None:
    """Another process: 16 requests in flight for ``seconds``; sends back (end time, latency) pairs."""

    async def run() -> list[tuple[float, float]]:
        samples: list[tuple[float, float]] = []
        deadline = time.monotonic() + seconds
        numbers = [f"79{n:09d}" for n in range(0, 999_999_999, 7_777_777)]
        async with aiohttp.ClientSession() as session:

            async def worker(offset: int) -> None:
                index = offset
                while time.monotonic() < deadline:
                    began = time.monotonic()
                    async with session.get(f"{url}/lookup/{numbers[index % len(numbers)]}") as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"HTTP {response.status}")
                    ended = time.monotonic()
                    samples.append((ended, ended - began))
                    index += 1

            await asyncio.gather(*(worker(i) for i in range(16)))
        return samples

    out.send(asyncio.run(run()))


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    if not ordered:
        return "n=0"
    p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.5, 0.99))
    return f"n={len(ordered):>6}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {ordered[-1] * 1000:6.2f} ms"


async def serve_and_measure(store: LocalStore, prepared: list[str], args: argparse.Namespace) -> None:
    engine = LookupEngine(store.open())
    switched = asyncio.Event()
    original_use = engine.use

    def use(dataset: Any) -> Any:
        previous = original_use(dataset)
        switched.set()
        return previous

    engine.use = use  # type: ignore[method-assign]

    async def lookup(request: web.Request) -> web.Response:
        answer = await engine.lookup(request.match_info["number"])
        assert isinstance(answer, RussianAnswer)
        return web.json_response({"operator": answer.operator.name, "region": answer.allocation.region})

    app = web.Application()
    app.router.add_get("/lookup/{number}", lookup)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    lags: list[tuple[float, float]] = []

    async def probe() -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(0.001)
            lags.append((time.monotonic(), time.monotonic() - began - 0.001))

    follower = asyncio.create_task(follow(LocalSource(store), engine, interval=0.05))
    prober = asyncio.create_task(probe())
    for phase in ("baseline", "switching"):
        receive, send = multiprocessing.Pipe(duplex=False)
        client = multiprocessing.Process(
            target=load_generator, args=(f"http://127.0.0.1:{port}", WINDOW, send)
        )
        client.start()
        began = time.monotonic()
        switches: list[tuple[float, float]] = []
        if phase == "switching":
            await asyncio.sleep(0.3)
            gap = (WINDOW - 0.6) / args.switches
            for number in range(args.switches):
                switched.clear()
                # An import builds in another process; what reaches the API is its last step, the
                # CURRENT replace: that alone happens here, alternating between two prepared versions.
                version = prepared[number % 2]
                store.point_to(version)
                published = time.monotonic()
                await switched.wait()
                switches.append((published, time.monotonic() - published))
                assert engine.version == version
                await asyncio.sleep(max(0.0, gap - (time.monotonic() - published)))
        samples = await asyncio.to_thread(receive.recv)
        client.join()
        lag = [value for stamp, value in lags if stamp >= began]
        lags.clear()
        print(
            f"{phase:>10}: {percentiles([latency for _, latency in samples])}; "
            f"loop lag max {max(lag) * 1000:.1f} ms, p99 {np.percentile(lag, 99) * 1000:.2f} ms"
        )
        if switches:
            took = [seconds for _, seconds in switches]
            print(
                f"{'':>10}  {len(took)} switches: publish → serving "
                f"median {statistics.median(took) * 1000:.0f} ms,"
                f" max {max(took) * 1000:.0f} ms (includes up to 50 ms of follow() interval)"
            )
            near = [lat for end, lat in samples if any(p - 0.05 <= end <= p + t + 0.2 for p, t in switches)]
            print(f"{'':>10}  requests finishing during a switch: {percentiles(near)}")
    follower.cancel()
    prober.cancel()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=6)
    parser.add_argument("--ranges", type=int, default=450_000)
    parser.add_argument("--ported", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="numlookup-switch-") as tmp:
        store = LocalStore(Path(tmp))
        began = time.monotonic()
        prepared = [build_version(store, args.ranges, args.ported, seed) for seed in (1, 2)]
        print(
            f"built two {args.ranges:,}-range, {args.ported:,}-ported versions "
            f"in {time.monotonic() - began:.1f} s"
        )
        began = time.monotonic()
        store.open().close()
        print(
            f"Dataset load (what a switch costs the serving process, in a thread): "
            f"{(time.monotonic() - began) * 1000:.0f} ms"
        )
        store.point_to(prepared[0])
        asyncio.run(serve_and_measure(store, [prepared[1], prepared[0]], args))


if __name__ == "__main__":
    main()
