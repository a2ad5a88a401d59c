"""HTTP API throughput and latency under wrk: v1, v2 and batch over random Russian mobile numbers.

    python bench/api.py [--data-dir /tmp/numlookup-bench/data] [--workers N] [--connections 64]
                        [--threads 2] [--duration 10] [--batch 100] [--rounds 3] [--no-batch]
                        [--rate-limit [--redis URL]] [--split-cores]

Each round starts a bare aiohttp app serving a fixed v1 body on the API's server setup (uvloop, reuse_port,
N processes): the ceiling of aiohttp itself on this machine, measured in the same run, since the machine is
shared; then ``numlookup api`` with its default worker count (one per core; ``--workers`` to choose) on the
data dir bench/data_import.py built (rate limit off, no Redis). Prints requests/s and p50/p99 for each run
and, after ``--rounds`` rounds, the median of each and the median of the rounds' v1/baseline and
v2/baseline ratios (each round's own baseline: the load from other users of the machine changes between
rounds).
wrk (Debian package ``wrk``) runs on the same cores as the server; with ``--split-cores`` the servers (one
worker per core of theirs, unless ``--workers``) run on the first half of the cores and wrk on the other, so
that latency is the server's, not the time a request waits for wrk to leave its core.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from worker.data.dataset.store import LocalStore
from worker.settings import default_workers

BASELINE, V1, V2 = "baseline: bare aiohttp", "v1  GET /get/", "v2  GET /get/v2/"
DEFAULT_DATA = Path("/tmp/numlookup-bench/data")  # written by bench/data_import.py

# wrk builds a pool of requests once per thread and cycles through it, so Lua costs nothing per request.
LUA = """
local pool = {}
local next_index = 1
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  math.randomseed(tonumber(args[1]) + id * 7919)
  for i = 1, 20000 do
    local number = string.format("79%%02d%%07d", math.random(0, 99), math.random(0, 9999999))
    %s
  end
end
function request()
  local item = pool[next_index]
  next_index = next_index %% #pool + 1
  return item
end
"""
GET_ITEM = 'pool[i] = wrk.format("GET", "%s" .. number)'
BATCH_ITEM = """if i <= 200 then
      local numbers = {}
      for k = 1, %d do
        numbers[k] = string.format('"79%%02d%%07d"', math.random(0, 99), math.random(0, 9999999))
      end
      pool[i] = wrk.format("POST", "%s", {["Content-Type"] = "application/json"},
                           "[" .. table.concat(numbers, ",") .. "]")
    end"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def on_cores(cores: set[int] | None) -> Callable[[], None] | None:
    """What runs a child process (and its children) on ``cores`` only; ``None``: on every core."""
    if cores is None:
        return None
    return lambda: os.sched_setaffinity(0, cores)


def start(
    command: list[str], workers: int, env: dict[str, str], cores: set[int] | None = None
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=on_cores(cores)
    )
    assert process.stderr is not None
    ready = 0
    while ready < workers:
        line = process.stderr.readline()
        if not line:
            raise SystemExit(f"server exited: {process.wait()}")
        ready += "API listening on" in line
    return process


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


def wrk(url: str, item: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % item)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
               "-s", script.name, url, "--", str(random.randrange(1 << 30))]  # fmt: skip
    run = subprocess.run(
        command, capture_output=True, text=True, check=True, preexec_fn=on_cores(args.wrk_cores)
    )
    output = run.stdout
    os.unlink(script.name)
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    def latency_ms(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        assert match, output
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rps, output
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(rps[1]),
        "p50": latency_ms("50%"),
        "p99": latency_ms("99%"),
        "non2xx": float(errors[1]) if errors else 0.0,
    }


def answered_share(port: int, count: int = 200) -> float:
    """The share of random mobile numbers the dataset answers with 200 (the rest are v1's 404)."""
    found = 0
    for _ in range(count):
        number = f"79{random.randrange(100):02d}{random.randrange(10_000_000):07d}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/get/?num={number}") as response:
                found += response.status == 200
        except urllib.error.HTTPError:
            pass
    return found / count


def report(name: str, figures: dict[str, float], numbers_per_request: int = 1) -> None:
    line = f"{name:<28} {figures['rps']:>9,.0f} req/s   p50 {figures['p50']:6.2f} ms"
    line += f"   p99 {figures['p99']:6.2f} ms"
    if numbers_per_request > 1:
        line += f"   ({figures['rps'] * numbers_per_request:,.0f} numbers/s)"
    if figures["non2xx"]:
        line += f"   non-2xx {figures['non2xx']:,.0f}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="a data dir (NUMLOOKUP_DATA_DIR)")
    parser.add_argument("--workers", type=int, help="API processes (default: numlookup's, one per core)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--batch", type=int, default=100, help="numbers per batch request")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the medians are printed at the end")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch runs")
    parser.add_argument("--rate-limit", action="store_true", help="also v1 with the limit counting")
    parser.add_argument(
        "--split-cores",
        action="store_true",
        help="servers on the first half of the cores (one worker each), wrk on the rest: latency without wrk",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="Redis for --rate-limit")
    args = parser.parse_args()
    args.server_cores = args.wrk_cores = None
    if args.split_cores:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            raise SystemExit("--split-cores needs at least two cores")
        args.server_cores, args.wrk_cores = set(cores[: len(cores) // 2]), set(cores[len(cores) // 2 :])
        if args.workers is None:
            args.workers = len(args.server_cores)
    if args.workers is None:
        args.workers = default_workers()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    version = LocalStore(args.data_dir).current_version()
    if version is None:
        raise SystemExit(f"no dataset in {args.data_dir} (run python bench/data_import.py to build one)")
    meta = json.loads((args.data_dir / "versions" / version / "meta.json").read_text())
    print(f"dataset {version}: {meta['ranges']:,} ranges, {meta['ported']:,} ported numbers")
    if args.server_cores is None:
        print(f"cpu: {cpu_model()}, {os.cpu_count()} cores shared by server and wrk")
    else:
        where = f"server on cores {sorted(args.server_cores)}, wrk on {sorted(args.wrk_cores)}"
        print(f"cpu: {cpu_model()}, {where}")
    print(f"{args.workers} workers, wrk -t{args.threads} -c{args.connections} -d{args.duration}s")
    env: dict[str, Any] = {**os.environ, "NUMLOOKUP_HTTP__RATE_LIMIT": "0", "NUMLOOKUP_LOG_LEVEL": "INFO"}
    env.pop("NUMLOOKUP_REDIS__URL", None)
    results: dict[str, list[dict[str, float]]] = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}")
        one_round(args, args.data_dir, env, results)
    print(f"median of {args.rounds} rounds")
    for name, runs in results.items():
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        report(name, median, args.batch if "batch" in name else 1)
    baselines = [run["rps"] for run in results[BASELINE]]
    for name in (V1, V2):
        ratios = [run["rps"] / base for run, base in zip(results[name], baselines, strict=True)]
        print(f"{name.split()[0]} / baseline, median of the rounds' ratios: {statistics.median(ratios):.2f}")


def one_round(
    args: argparse.Namespace, data_dir: Path, env: dict[str, str], results: dict[str, list[dict[str, float]]]
) -> None:
    def measure(name: str, item: str, numbers: int = 1) -> None:
        figures = wrk(f"http://127.0.0.1:{port}/", item, args)
        results.setdefault(name, []).append(figures)
        report(name, figures, numbers)

    port = free_port()
    serve_baseline = [sys.executable, __file__, "--serve-baseline", str(port), str(args.workers)]
    baseline = start(serve_baseline, 1, env, args.server_cores)
    try:
        measure(BASELINE, GET_ITEM % "/get/?num=")
    finally:
        stop(baseline)
    port = free_port()
    command = [sys.executable, "-m", "worker", "--data-dir", str(data_dir), "api", "--port", str(port)]
    if args.workers != default_workers():
        command += ["--workers", str(args.workers)]
    server = start(command, args.workers, env, args.server_cores)
    try:
        if V1 not in results:
            print(f"random mobile numbers found in the dataset: {answered_share(port):.0%}")
        measure(V1, GET_ITEM % "/get/?num=")
        measure(V2, GET_ITEM % "/get/v2/?num=")
        if not args.no_batch:
            measure(f"v1  POST batch of {args.batch}", BATCH_ITEM % (args.batch, "/get/batch"), args.batch)
            measure(f"v2  POST batch of {args.batch}", BATCH_ITEM % (args.batch, "/get/v2/batch"), args.batch)
    finally:
        stop(server)
    if args.rate_limit:
        # A limit nobody reaches (wrk is one address): what counting costs, in process and in Redis.
        limited = {**env, "NUMLOOKUP_HTTP__RATE_LIMIT": "1000000000"}
        variants = [("in process", limited), ("in Redis", {**limited, "NUMLOOKUP_REDIS__URL": args.redis})]
        for where, variant in variants:
            port = free_port()
            command[command.index("--port") + 1] = str(port)
            server = start(command, args.workers, variant, args.server_cores)
            try:
                measure(f"v1  rate limit {where}", GET_ITEM % "/get/?num=")
            finally:
                stop(server)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def serve_baseline(port: int, workers: int) -> None:
    """aiohttp serving a fixed v1 body on the API's server setup (uvloop, reuse_port, N processes)."""
    import multiprocessing

    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    children = [multiprocessing.Process(target=_baseline_process, args=(port, ready)) for _ in range(workers)]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=30)
    print("API listening on (baseline)", file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGTERM})
    for child in children:
        child.terminate()
        child.join()


def _baseline_process(port: int, ready: Any) -> None:
    import asyncio

    import uvloop
    from aiohttp import web

    body = json.dumps(
        {
            "code": "917",
            "num": "0415564",
            "full_num": "9170415564",
            "operator": "МТС",
            "region": "Республика",
        },
        ensure_ascii=False,
    )

    async def answer(request: web.Request) -> web.Response:
        request.query.get("num")
        return web.Response(text=body, content_type="application/json")

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/get/", answer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # blocked in the parent for sigwait
        ready.put(os.getpid())
        await stopped.wait()
        await runner.cleanup()

    uvloop.run(run())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-baseline"]:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        serve_baseline(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
