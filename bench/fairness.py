"""Fairness: other clients' latency while one client sends maximum-size batches of new numbers at the limit.

    python bench/fairness.py [--baseline /path/to/other/checkout] [--duration 15] [--others 8]

Starts ``numlookup api`` (one process, the default rate limit of 10 requests/s per address) on a small
dataset, then for ``--duration`` seconds:

- one heavy client (source address 127.0.0.2) POSTs ``/get/v2/batch`` with 1,000 numbers nobody looked up
  before (London numbers: each a libphonenumber lookup) ten times a second — within the request limit, since
  a batch is one request;
- ``--others`` clients (127.0.0.3, ...) each GET ``/get/?num=...`` six times a second and time every answer.

Prints the others' p50/p99 and what became of the heavy client's batches, for: no heavy client (the floor),
``--baseline`` (another checkout's code from before the loopback exemption, e.g. the code before this
change, if given), and this
checkout with and without the batch budget (``http.batch_item_rate``). Each server runs on the same shared
machine in the same run, so compare the rows with each other, not with other runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data" / "fixtures"
NUMBER = "74959901234"  # in the fixtures' ABC-4xx file
RATE = 6  # requests per second of each other client: under the 10/s limit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(code: Path, data_dir: Path, port: int, extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMLOOKUP_")} | {
        "PYTHONPATH": str(code),
        "NUMLOOKUP_DATA_DIR": str(data_dir),
        "NUMLOOKUP_LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "worker", "data", "import", str(FIXTURES)], cwd=code, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    env |= {"NUMLOOKUP_HTTP__PORT": str(port), **extra}
    server = subprocess.Popen([sys.executable, "-m", "worker", "api"], cwd=code, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the API did not start")


async def other_client(
    url: str, address: str, until: float, latencies: list[float], refused: list[int]
) -> None:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(url, connector=connector) as session:
        tick = time.monotonic() + random.random() / RATE
        while tick < until:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            started = time.perf_counter()
            async with session.get(f"/get/?num={NUMBER}") as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            refused[0] += response.status == 429
            tick = max(tick + 1 / RATE, time.monotonic())  # no catching up in a burst after a stall


async def heavy_client(url: str, until: float, outcomes: dict[int, int]) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), limit=0)
    rng = random.Random()
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def send() -> None:
            numbers = [f"+4420{rng.randrange(70_000_000, 79_999_999)}" for _ in range(1000)]
            async with session.post("/get/v2/batch", json=numbers) as response:
                await response.read()
                outcomes[response.status] = outcomes.get(response.status, 0) + 1

        tasks = []
        tick = time.monotonic()
        while tick < until:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            tasks.append(asyncio.create_task(send()))
            tick += 0.1  # ten batches a second: the request limit
        await asyncio.gather(*tasks)


def heavy_process(url: str, seconds: float, results: multiprocessing.Queue[dict[int, int]]) -> None:
    """The heavy client in a process of its own: its JSON work must not delay the others' clocks."""
    outcomes: dict[int, int] = {}
    asyncio.run(heavy_client(url, time.monotonic() + seconds, outcomes))
    results.put(outcomes)


async def measure(
    url: str, seconds: float, others: int, heavy: bool
) -> tuple[list[float], int, dict[int, int]]:
    results: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
    process = multiprocessing.Process(target=heavy_process, args=(url, seconds, results))
    if heavy:
        process.start()
    until = time.monotonic() + seconds
    latencies: list[float] = []
    refused = [0]
    jobs = [other_client(url, f"127.0.0.{3 + n}", until, latencies, refused) for n in range(others)]
    await asyncio.gather(*jobs)
    outcomes = await asyncio.to_thread(results.get) if heavy else {}
    if heavy:
        process.join()
    return latencies, refused[0], outcomes


def run(
    label: str, code: Path, extra: dict[str, str], args: argparse.Namespace, *, heavy: bool = True
) -> None:
    with tempfile.TemporaryDirectory(prefix="numlookup-fairness-") as scratch:
        port = free_port()
        server = start_server(code, Path(scratch), port, extra)
        try:
            url = f"http://127.0.0.1:{port}"
            latencies, refused, outcomes = asyncio.run(measure(url, args.duration, args.others, heavy))
        finally:
            server.terminate()
            server.wait(timeout=30)
    cuts = statistics.quantiles(latencies, n=100)
    batches = ", ".join(f"{count} × {status}" for status, count in sorted(outcomes.items())) or "none sent"
    print(
        f"{label:<38} others: {len(latencies):>4} requests ({refused} × 429), p50 {cuts[49]:6.2f} ms, "
        f"p99 {cuts[98]:6.2f} ms, max {max(latencies):7.2f} ms | heavy batches: {batches}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=Path, help="another checkout of numlookup to compare with")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--others", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPUs; {args.others} others at {RATE} requests/s each; {args.duration:g} s per row"
    )
    # The clients are on loopback, which the limits exempt by default (a PBX on the same host): not here.
    limited = {"NUMLOOKUP_HTTP__RATE_LIMIT_EXEMPT": "[]"}
    run("no heavy client (this checkout)", REPO, limited, args, heavy=False)
    if args.baseline is not None:
        run(f"baseline ({args.baseline})", args.baseline, {}, args)
    run("this checkout, no batch budget", REPO, {**limited, "NUMLOOKUP_HTTP__BATCH_ITEM_RATE": "0"}, args)
    run("this checkout (budget 1,000 numbers/s)", REPO, limited, args)


if __name__ == "__main__":
    main()
