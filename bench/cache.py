"""What a cached answer costs from each place, to decide what is worth caching where.

    python bench/cache.py [--redis redis://127.0.0.1:6379/15] [--count 5000]

Prints µs per answer, in one run: a Russian answer from the in-process dataset (no cache at all), an
international answer computed by libphonenumber, the same from the in-process cache, and from Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.data.dataset.store import LocalStore
from worker.lookup.cache import MemoryCache, RedisCache
from worker.lookup.engine import LookupEngine
from worker.lookup.foreign import lookup_foreign

DATA = Path("/tmp/numlookup-bench/data")  # written by bench/data_import.py


def per_call_us(started: float, count: int) -> float:
    return (time.perf_counter() - started) / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    count = args.count
    foreign = [f"4930{index:07d}" for index in range(count)]
    figures: dict[str, float] = {}
    if LocalStore(DATA).current_version() is not None:
        engine = LookupEngine(LocalStore(DATA).open())
        russian = [f"7{9_000_000_000 + index * 1_000}" for index in range(count)]
        for number in russian:  # warm: the ranges' answers built, the pages mapped, as in a running service
            engine.lookup_now(number)
        started = time.perf_counter()
        for number in russian:
            engine.lookup_now(number)
        figures["russian, in-process dataset (no cache)"] = per_call_us(started, count)
    started = time.perf_counter()
    answers = [lookup_foreign(number) for number in foreign]
    figures["international, libphonenumber"] = per_call_us(started, count)
    memory = MemoryCache()
    for number, answer in zip(foreign, answers, strict=True):
        memory.set_now(number, answer)
    started = time.perf_counter()
    for number in foreign:
        memory.get_now(number)
    figures["international, in-process cache hit"] = per_call_us(started, count)
    redis = Redis.from_url(args.redis)
    shared = RedisCache(redis, prefix="bench")
    for number, answer in zip(foreign, answers, strict=True):
        await shared.set(number, answer)
    started = time.perf_counter()
    for number in foreign:
        await shared.get(number)
    figures["international, Redis cache hit (one round trip)"] = per_call_us(started, count)
    await redis.aclose()
    for label, value in figures.items():
        print(f"{label:<50} {value:8.2f} µs")


if __name__ == "__main__":
    asyncio.run(main())
