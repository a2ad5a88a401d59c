"""The HTTP stack's own cost per request, without sockets or wrk: where bench/api.py's gap to aiohttp is.

    python bench/api_stack.py [--data-dir /tmp/numlookup-bench/data] [--requests 30000] [--rounds 5]
                              [--profile]

Raw requests (random Russian mobiles, as bench/api.py sends) are fed one at a time to aiohttp's protocol over
an in-memory transport, and the loop runs until the response is written: once for the bare aiohttp app of
bench/api.py (the baseline), once for the API as ``numlookup api`` serves it (its runner, protocol and direct
route, rate limit off) on v1 and on v2. Prints microseconds per request (best of the rounds) and the
baseline's share of them; ``--profile`` adds cProfile's top functions for v1. One process, one core, no
kernel in the way: steadier than wrk on a shared machine, and it shows the stack, not the network.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import uvloop
from aiohttp import web

from worker.api.app import create_app, request_handler
from worker.api.protocol import GuardedRunner
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.settings import HttpSettings, Settings

DEFAULT_DATA = Path("/tmp/numlookup-bench/data")  # written by bench/data_import.py
ADDRESSES = {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}


class MemoryTransport(asyncio.Transport):
    """Takes what the server writes and tells the driver a response has gone out."""

    def __init__(self, written: Callable[[], None]) -> None:
        super().__init__()
        self.written = written

    def write(self, data: Any) -> None:
        self.written()

    def writelines(self, data: Any) -> None:
        self.written()

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ADDRESSES.get(name, default)


def raw_requests(count: int, path: str) -> list[bytes]:
    generator = random.Random(1)
    return [
        f"GET {path}?num=79{generator.randrange(100):02d}{generator.randrange(10**7):07d} HTTP/1.1\r\n"
        "Host: bench\r\n\r\n".encode()
        for _ in range(count)
    ]


async def per_request(server: web.Server, requests: list[bytes]) -> float:
    """Microseconds per request, each fed after the previous one's response was written."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def written() -> None:
        if not waiter.done():
            waiter.set_result(None)

    protocol = server()
    protocol.connection_made(MemoryTransport(written))
    started = time.perf_counter()
    for request in requests:
        waiter = loop.create_future()
        protocol.data_received(request)
        await waiter
    elapsed = time.perf_counter() - started
    protocol.connection_lost(None)
    return elapsed / len(requests) * 1e6


async def baseline() -> web.AppRunner:
    """bench/api.py's bare aiohttp app: a fixed v1 body."""
    body = json.dumps({"code": "917", "num": "0415564", "full_num": "9170415564", "operator": "МТС",
                       "region": "Республика"}, ensure_ascii=False)  # fmt: skip

    async def answer(request: web.Request) -> web.Response:
        request.query.get("num")
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/get/", answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    return runner


async def numlookup(data_dir: Path) -> web.AppRunner:
    settings = Settings(data_dir=data_dir, http=HttpSettings(rate_limit=0))
    app = create_app(settings, LookupEngine(LocalStore(data_dir).open()))
    runner = GuardedRunner(
        app, header_timeout=10, request_handler=request_handler(app), access_log=None, handle_signals=False
    )
    await runner.setup()
    return runner


async def main(args: argparse.Namespace) -> None:
    runners = [await baseline(), await numlookup(args.data_dir)]
    bare, api = (runner.server for runner in runners)
    assert bare is not None
    assert api is not None
    v1, v2 = raw_requests(args.requests, "/get/"), raw_requests(args.requests, "/get/v2/")
    for server, requests in ((bare, v1), (api, v1), (api, v2)):
        await per_request(server, requests)  # warm: the memo of bodies, the maps' pages
    cases = {"baseline: bare aiohttp": (bare, v1), "v1  GET /get/": (api, v1), "v2  GET /get/v2/": (api, v2)}
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):  # interleaved: the machine's load changes between rounds
        for name, (server, requests) in cases.items():
            runs[name].append(await per_request(server, requests))
    best = {name: min(results) for name, results in runs.items()}
    base = best["baseline: bare aiohttp"]
    for name, micros in best.items():
        print(f"{name:<24} {micros:6.2f} µs/request   baseline/this {base / micros:.2f}")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        await per_request(api, v1)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="a data dir (NUMLOOKUP_DATA_DIR)")
    parser.add_argument("--requests", type=int, default=30_000, help="requests per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions for v1")
    arguments = parser.parse_args()
    if LocalStore(arguments.data_dir).current_version() is None:
        raise SystemExit(f"no dataset in {arguments.data_dir} (run python bench/data_import.py to build one)")
    uvloop.run(main(arguments))
