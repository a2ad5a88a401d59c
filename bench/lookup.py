"""Lookups per second on one core, from the raw string to the typed answer.

    python bench/data_import.py            # once: imports the full-size synthetic dataset
    python bench/lookup.py [--data-dir /tmp/numlookup-bench/data] [--seconds 3]

The dataset is the one the real import built (450,052 ranges, 30 M ported numbers). Prints, in one run so
that they share the machine's load: Russian lookups/s (half of them ported numbers), the same from mixed
input forms and through the v1 rendering, international lookups/s (libphonenumber uncached, and from the
in-process cache), open time and the RSS of the process holding the dataset.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.answer.model import RussianAnswer
from worker.answer.voxlink import v1
from worker.data.dataset.store import LocalStore
from worker.lookup.cache import MemoryCache
from worker.lookup.engine import LookupEngine

DEFAULT_DATA = Path("/tmp/numlookup-bench/data")  # written by bench/data_import.py


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
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="a data dir (NUMLOOKUP_DATA_DIR)")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    store = LocalStore(args.data_dir)
    if store.current_version() is None:
        sys.exit(f"no dataset in {args.data_dir}: run python bench/data_import.py first")
    started = time.perf_counter()
    dataset = store.open()
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
