"""``numlookup run``: the HTTP API, the AMI worker and FastAGI in one process, for small installs.

One Redis client, one engine and one dataset follower serve all three; ``/health`` and ``/metrics`` include
the worker's state. For more throughput run ``numlookup api --workers N`` and ``numlookup worker`` apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from typing import Any

from worker.api.commands import with_options
from worker.api.server import run, serve_api
from worker.runner import start_worker
from worker.service import open_engine, open_redis, stop_on_signals
from worker.settings import Settings

log = logging.getLogger(__name__)


async def serve_everything(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Redis, engine, AMI worker, FastAGI and API until SIGTERM/SIGINT (or ``stop``), then close in order."""
    with stop_on_signals(stop or asyncio.Event()) as stopping:
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(open_redis(settings))
            engine = await stack.enter_async_context(open_engine(settings, redis))
            worker = await stack.enter_async_context(start_worker(settings, engine, redis))
            await serve_api(settings, engine, redis, stack, ami_state=worker)
            await stopping.wait()
            log.info("shutting down")


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    run(serve_everything(with_options(settings, args)))
    return 0


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="API + AMI worker + FastAGI in one process (small installs)")
    parser.add_argument("--host", help="API address (NUMLOOKUP_HTTP__HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="API port (NUMLOOKUP_HTTP__PORT, default 8080)")
    parser.set_defaults(handler=cmd_run, workers=None)
