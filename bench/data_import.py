"""Import benchmark: builds (and caches) the full-size synthetic dataset and prints what it costs.

    python bench/data_import.py [--work /tmp/numlookup-bench] [--redis-url redis://127.0.0.1:6379/14]

Under ``--work``: ``registry/`` (450,000 synthetic ranges, 8-column format), ``mnp/`` (30 M ported numbers:
Operators, a zipped Port_All, 3 days of Port/Return increments) and ``data/``, a data dir serving the full
dataset (``NUMLOOKUP_DATA_DIR=<work>/data``) that other benchmarks reuse. Generated files are kept between
runs; the imports run every time (through the real CLI, each in its own process): they are what is measured.

Prints: a same-run CPU baseline, registry import time and peak RSS, MNP import time and peak RSS, Redis
``used_memory`` growth for one published version, ``Dataset`` open time and the RSS of a process holding it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RANGES = 450_000
PORTED = 30_000_000

HOLDER = """
import json, random, re, sys, time
from pathlib import Path
from worker.data.dataset.store import LocalStore
started = time.perf_counter()
dataset = LocalStore(Path(sys.argv[1])).open()
open_s = time.perf_counter() - started
ready_s = time.time() - float(sys.argv[2])  # from just before the process was started
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024
after_open = rss()
rng = random.Random(1)
for _ in range(200_000):
    dataset.russian("79" + str(rng.randrange(10**9)).zfill(9))
print(json.dumps({"open_s": open_s, "ready_s": ready_s, "rss_open_mb": after_open, "rss_used_mb": rss(),
                  "ported": dataset.ported_count, "ranges": len(dataset)}))
"""


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run a command; returns wall seconds, peak RSS in MB (its own, via wait4) and stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} failed with {process.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss // 1024, out


def cli(work: Path, *arguments: str, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    return run([sys.executable, "-m", "worker", "--data-dir", str(work / "data"), *arguments], env)


def baseline() -> float:
    """A fixed CPU job timed in the same run: the machine is shared, so compare figures against it."""
    import numpy as np

    values = np.random.default_rng(1).integers(0, 2**50, 10_000_000, dtype=np.uint64)
    started = time.perf_counter()
    values.sort()
    return time.perf_counter() - started


def ensure_generated(work: Path) -> None:
    registry, mnp = work / "registry", work / "mnp"
    if not (registry / "ABC-4xx.csv").is_file():
        cli(work, "data", "gen-registry", str(registry), "--ranges", str(RANGES))
    if not any(mnp.glob("Port_All_*.zip")):
        if not (work / "data" / "CURRENT").is_file():
            cli(work, "data", "import", str(registry))
        print("generating 30 M synthetic ported numbers (once; about a minute)...", file=sys.stderr)
        cli(work, "data", "gen-mnp", str(mnp), "--numbers", str(PORTED), "--increments", "3")


async def redis_memory(url: str, data: Path) -> tuple[int, float]:
    """``used_memory`` growth (bytes) and seconds to publish the current version under a scratch prefix."""
    from redis.asyncio import Redis

    from worker.data.dataset import redis_store
    from worker.data.dataset.store import LocalStore

    store = LocalStore(data)
    version = store.current_version()
    assert version is not None
    client = Redis.from_url(url, socket_timeout=120)
    prefix = "numlookup-bench"
    try:
        before = (await client.info("memory"))["used_memory"]
        started = time.perf_counter()
        await redis_store.publish(client, prefix, store.versions_dir / version, keep=1)
        elapsed = time.perf_counter() - started
        after = (await client.info("memory"))["used_memory"]
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        return int(after) - int(before), elapsed
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/numlookup-bench"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    ensure_generated(work)
    print(f"baseline: numpy sort of 10 M uint64 {baseline():.2f} s (same run; the machine is shared)")
    _seconds, cli_peak, _out = cli(work, "--version")
    print(f"CLI process alone (python -m worker --version): peak RSS {cli_peak} MB")
    seconds, peak, out = cli(work, "data", "import", str(work / "registry"))
    print(f"registry import, {out.strip()}: {seconds:.1f} s, peak RSS {peak} MB")
    seconds, peak, out = cli(work, "data", "import-mnp", str(work / "mnp"))
    print(f"MNP import, {out.strip()}: {seconds:.1f} s, peak RSS {peak} MB")
    _seconds, _peak, out = run([sys.executable, "-c", HOLDER, str(work / "data"), str(time.time())])
    held = json.loads(out)
    print(
        f"Dataset open ({held['ranges']:,} ranges, {held['ported']:,} ported): {held['open_s']:.2f} s; "
        f"new process to dataset ready: {held['ready_s']:.2f} s"
    )
    print(
        f"RSS of a process holding it: {held['rss_open_mb']} MB after open, "
        f"{held['rss_used_mb']} MB after 200,000 random mobile lookups"
    )
    try:
        grown, elapsed = asyncio.run(redis_memory(args.redis_url, work / "data"))
        print(
            f"Redis used_memory for one published version: {grown / 2**20:.0f} MB (publish {elapsed:.1f} s)"
        )
    except OSError as error:
        print(f"Redis: not measured ({args.redis_url}: {error})")
    print(f"full-size data dir for other benchmarks: NUMLOOKUP_DATA_DIR={work / 'data'}")


if __name__ == "__main__":
    main()
