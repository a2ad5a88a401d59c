"""Lookups per second on one core, from the raw string to the typed answer.

    python bench/lookup.py [--data-dir DIR] [--seconds 3]

Without ``--data-dir`` it writes a full-size synthetic dataset once (450,000 ranges over every Russian
ABC/DEF code, 30 M ported numbers) under /tmp/numlookup-bench/lookup-data and reuses it. Prints, in one run
so that they share the machine's load: Russian lookups/s (registry + MNP), the same through the v1 rendering,
international lookups/s (libphonenumber, uncached and from the in-process cache), start-up time and RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.answer import Operator, RussianAnswer, v1
from worker.cache import MemoryCache
from worker.data.dataset import RANGE_DTYPE, Dataset, Meta, line_type_for_code, write_dataset
from worker.engine import LookupEngine

RANGES = 450_000
PORTED = 30_000_000


def build(directory: Path) -> None:
    rng = np.random.default_rng(7)
    codes = np.array([c for c in range(301, 1000) if c // 100 in (3, 4, 8, 9)], dtype=np.int64)
    per_code = RANGES // len(codes) + 1
    width = 10_000_000 // per_code
    starts = (codes[:, None] * 10_000_000 + np.arange(per_code)[None, :] * width).ravel()[:RANGES]
    ranges = np.zeros(RANGES, dtype=RANGE_DTYPE)
    ranges["start"] = starts
    ranges["end"] = starts + width - 1
    ranges["operator"] = rng.integers(0, 300, RANGES)
    ranges["region"] = rng.integers(0, 90, RANGES)
    ranges["type"] = [line_type_for_code(int(code)) for code in starts // 10_000_000]
    mobile = ranges[ranges["start"] // 10_000_000 >= 900]
    picks = rng.integers(0, len(mobile), PORTED * 11 // 10)
    numbers = np.unique(mobile["start"][picks] + rng.integers(0, width, len(picks)))[:PORTED].astype(
        np.uint64
    )
    operators = [Operator(f"77{i:08d}", f'ООО "Оператор {i}"', f"Оператор {i}") for i in range(300)]
    regions = [f"Регион {i}" for i in range(90)]
    meta = Meta("bench", datetime.now(UTC), RANGES, len(numbers), len(operators), ["synthetic"])
    write_dataset(
        directory,
        meta=meta,
        operators=operators,
        regions=regions,
        ranges=ranges,
        ported_numbers=numbers,
        ported_operators=rng.integers(0, 300, len(numbers)).astype(np.uint16),
    )


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def rate(call: Callable[[str], object], numbers: list[str], seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for number in numbers:
            call(number)
        done += len(numbers)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, help="a dataset version directory to use instead")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    directory = args.data_dir or Path("/tmp/numlookup-bench/lookup-data")
    if not (directory / "meta.json").exists():
        print(f"writing the synthetic full-size dataset to {directory} ...", flush=True)
        build(directory)
    started = time.perf_counter()
    dataset = Dataset(directory)
    startup = time.perf_counter() - started
    engine = LookupEngine(dataset)
    rng = random.Random(1)
    warm = [f"7{9_000_000_000 + rng.randrange(10**9)}" for _ in range(200_000)]
    for number in warm:
        engine.lookup_now(number)
    holding = rss_mb()
    ported = dataset.ported_arrays()[0]
    mobile = [f"7{n}" for n in (9_000_000_000 + rng.randrange(100_000_000) * 10 for _ in range(20_000))]
    mixed = mobile[:10_000] + [f"7{int(ported[rng.randrange(len(ported))])}" for _ in range(10_000)]
    rng.shuffle(mixed)
    raw_forms = [rng.choice(("+", "8", "", "+7 ")) + n[1:] if i % 4 else n for i, n in enumerate(mixed)]
    foreign = [f"4930{rng.randrange(10**7):07d}" for _ in range(2_000)]

    def v1_body(raw: str) -> object:
        answer = engine.lookup_now(raw)
        return v1(answer) if isinstance(answer, RussianAnswer) else None

    print(f"dataset: {len(dataset):,} ranges, {dataset.ported_count:,} ported; open {startup * 1000:.0f} ms")
    rate(engine.lookup_now, mixed + raw_forms, args.seconds)  # warm: ranges' answers built, pages mapped
    figures = {
        "russian lookups/s (11 digits, half ported)": rate(engine.lookup_now, mixed, args.seconds),
        "russian lookups/s (mixed input forms)": rate(engine.lookup_now, raw_forms, args.seconds),
        "russian lookups/s incl. v1 body": rate(v1_body, mixed, args.seconds),
    }
    uncached = LookupEngine(dataset, memory=MemoryCache(max_items=0))  # libphonenumber's own speed
    figures["international lookups/s (uncached)"] = rate(uncached.lookup_now, foreign, args.seconds)
    figures["international lookups/s (in-process cache)"] = rate(engine.lookup_now, foreign, args.seconds)
    for label, value in figures.items():
        print(f"{label:<45} {value:>12,.0f}")
    print(f"RSS holding the dataset after 200k lookups: {holding:,.0f} MB (before the bench's own arrays)")


if __name__ == "__main__":
    main()
