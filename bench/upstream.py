"""What an upstream MNP source costs: an answer from each cache, the upstream path at saturation, and what
callers see while the upstream is saturated, down or hanging.

    python bench/upstream.py [--redis redis://127.0.0.1:6379/15] [--count 3000] [--duration 5]
                             [--connections 64]

Part 1, in one process, µs per answer for Russian mobile numbers: the local answer with no upstream
configured (the baseline), then with upstreams configured: from the in-process LRU, from Redis, from the
SQLite file, a new number while the budget is spent (the saturated path: a cache miss and a queued refresh),
and a new number answered by a fake upstream in the same process (HTTP both ways on one core).

Part 2, ``numlookup api`` (one process) under wrk, each request a new random mobile number: without
upstreams (the baseline), with a fake num.voxlink.ru that answers (budget 8/s: saturated at once), with the
upstream down (connection refused), and with one that accepts and never answers (the deadline, then the
breaker). The fake runs in its own process and counts what reaches it.
Data: the real DEF registry file from tests/realdata (no MNP data, so every mobile number is asked).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from api import GET_ITEM, LUA, free_port, parse_wrk, start, stop  # bench/api.py
from redis.asyncio import Redis

from tests.realdata import ROSSVYAZ
from tests.upstream.fake_voxlink import FakeVoxlink
from worker.answer.model import RussianAnswer
from worker.data.dataset.store import LocalStore
from worker.data.importer.registry import import_registry
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_upstreams
from worker.settings import Settings, default_brands_file


def build_data(directory: Path) -> Path:
    store = LocalStore(directory)
    if store.current_version() is None:
        import_registry(store, [ROSSVYAZ / "DEF-9xx.csv"], brands=default_brands_file(), keep=1)
    return store.root


def mobile_numbers(engine: LookupEngine, count: int, seed: int) -> list[str]:
    """``count`` random numbers the registry holds as mobile."""
    chooser = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        number = f"79{chooser.randrange(100):02d}{chooser.randrange(10_000_000):07d}"
        answer = engine.lookup_now(number)
        if isinstance(answer, RussianAnswer) and answer.allocation.line_type.id == "MOB":
            found.append(number)
    return found


async def timed(engine: LookupEngine, numbers: list[str], before: Any = None) -> float:
    started = time.perf_counter()
    for number in numbers:
        if before is not None:
            before()
        await engine.lookup(number)
    return (time.perf_counter() - started) / len(numbers) * 1e6


def settings_for(data: Path, url: str, redis_url: str | None, **source: Any) -> Settings:
    return Settings(
        data_dir=data,
        redis={"url": redis_url, "prefix": f"bench-{os.getpid()}"},
        upstreams=[{"kind": "voxlink", "url": url, "timeout": 2.0, **source}],
    )


async def part_one(data: Path, args: argparse.Namespace) -> None:
    dataset = LocalStore(data).open()
    plain = LookupEngine(dataset)
    numbers = mobile_numbers(plain, args.count * 3, seed=1)
    known, fresh, asked = (
        numbers[: args.count],
        numbers[args.count : 2 * args.count],
        numbers[2 * args.count :],
    )
    figures: dict[str, float] = {"baseline: local answer, no upstream configured": await timed(plain, known)}
    fake = FakeVoxlink(limit=10**9)
    await fake.start()
    redis = Redis.from_url(args.redis)
    try:
        for store_name, client in (("Redis", redis), ("SQLite", None)):
            settings = settings_for(data, fake.url, args.redis if client else None, rate=10**6, burst=10**6)
            async with open_upstreams(settings, client) as upstream:
                assert upstream is not None
                engine = LookupEngine(dataset, upstream=upstream)
                for number in known:  # learn them all
                    await engine.lookup(number, deadline=5)
                if client is not None:
                    figures["in-process LRU hit"] = await timed(engine, known)
                    figures["new number answered by the upstream (fake, same process)"] = await timed(
                        engine, asked
                    )
                figures[f"{store_name} hit (LRU missed)"] = await timed(engine, known, upstream.memory.clear)
        settings = settings_for(data, fake.url, args.redis, rate=0.001, burst=1)
        async with open_upstreams(settings, redis) as upstream:
            assert upstream is not None
            engine = LookupEngine(dataset, upstream=upstream)
            await engine.lookup(fresh[0])  # takes the only token
            figures["new number, budget spent (miss + queued refresh)"] = await timed(engine, fresh[1:])
    finally:
        keys = [key async for key in redis.scan_iter(f"bench-{os.getpid()}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await fake.stop()
    dataset.close()
    print(f"{'per answer (Russian mobile numbers)':<60} µs")
    for name, micros in figures.items():
        print(f"{name:<60} {micros:8.1f}")


def serve_fake(port: int, mode: str) -> None:
    """The fake num.voxlink.ru as its own process; prints what reached it when stopped."""

    async def serve() -> None:
        fake = FakeVoxlink(mode=mode)
        await fake.start()
        print(json.dumps({"url": fake.url}), flush=True)
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(15, stopping.set)
        await stopping.wait()
        seconds = (fake.times[-1] - fake.times[0]) if len(fake.times) > 1 else 0.0
        print(
            json.dumps({"requests": fake.total, "over_seconds": round(seconds, 1), "429": fake.answered[429]})
        )
        await fake.stop()

    asyncio.run(serve())


def part_two(data: Path, args: argparse.Namespace) -> None:
    base_env = {**os.environ, "NUMLOOKUP_HTTP__RATE_LIMIT": "0", "NUMLOOKUP_REDIS__URL": ""}
    scenarios: list[tuple[str, str | None]] = [
        ("baseline: no upstream configured", None),
        ("upstream saturated (answers; 8/s budget)", "ok"),
        ("upstream down (connection refused)", "down"),
        ("upstream hanging (accepts, never answers)", "hang"),
    ]
    print(f"\nwrk -c{args.connections} -d{args.duration}s, a new random mobile number each, one API process")
    for name, mode in [scenario for _ in range(args.rounds) for scenario in scenarios]:
        env = dict(base_env)
        fake = None
        if mode is not None:
            url = f"http://127.0.0.1:{free_port()}"
            if mode != "down":
                fake = subprocess.Popen(
                    [sys.executable, __file__, "--serve-fake", mode], stdout=subprocess.PIPE, text=True
                )
                assert fake.stdout is not None
                url = json.loads(fake.stdout.readline())["url"]
            upstreams = [{"kind": "voxlink", "url": url, "timeout": 2.0}]
            env["NUMLOOKUP_UPSTREAMS"] = json.dumps(upstreams)
        port = free_port()
        server = start(
            [sys.executable, "-m", "worker", "--data-dir", str(data), "api", "--port", str(port)], 1, env
        )
        try:
            figures = wrk(f"http://127.0.0.1:{port}/", args)
        finally:
            stop(server)
        line = f"{name:<44} {figures['rps']:>7,.0f} req/s   p50 {figures['p50']:7.2f} ms"
        line += f"   p99 {figures['p99']:7.2f} ms"
        if fake is not None:
            fake.send_signal(15)
            counted = json.loads(fake.communicate(timeout=30)[0].strip().splitlines()[-1])
            line += f"   upstream saw {counted['requests']} requests over {counted['over_seconds']} s"
            line += f" ({counted['429']} answered 429)"
        print(line, flush=True)


def wrk(url: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (GET_ITEM % "/get/?num="))
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
               "-s", script.name, url, "--", str(random.randrange(1 << 30))]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    return parse_wrk(output)


def main() -> None:
    if sys.argv[1:2] == ["--serve-fake"]:
        serve_fake(0, sys.argv[2])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=1, help="part 2 scenarios run this many times, interleaved"
    )
    parser.add_argument("--skip-part-one", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/numlookup-bench/upstream"))
    args = parser.parse_args()
    data = build_data(args.data_dir)
    print(f"cpu: {os.cpu_count()} cores, shared")
    if not args.skip_part_one:
        asyncio.run(part_one(data, args))
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): part 2 skipped")
        return
    part_two(data, args)


if __name__ == "__main__":
    main()
