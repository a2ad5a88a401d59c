"""Running the API: one site in an event loop, one process per core, graceful shutdown.

``numlookup api --workers N`` starts N processes that all listen on the same port (``SO_REUSEPORT``: the
kernel spreads connections over them). Each opens its own Redis client and engine; the dataset's ported
numbers are memory-mapped, so the processes share one copy in the page cache. ``numlookup run`` calls
:func:`serve_api` inside its own ``AsyncExitStack`` next to the AMI worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import signal
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from worker.api.app import create_app
from worker.api.health import AmiState
from worker.engine import LookupEngine
from worker.service import open_engine, open_redis, stop_on_signals
from worker.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 5.0  # seconds in-flight requests get to finish on SIGTERM


@contextlib.asynccontextmanager
async def api_site(
    settings: Settings,
    engine: LookupEngine,
    redis: Redis | None,
    *,
    ami_state: AmiState | None = None,
    reuse_port: bool = False,
) -> AsyncIterator[web.AppRunner]:
    """The API listening on ``settings.http.host``/``port`` until the context exits.

    ``runner.addresses`` gives the bound addresses (port 0 picks a free one).
    """
    app = create_app(settings, engine, redis=redis, ami_state=ami_state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http.host, settings.http.port, reuse_port=reuse_port or None)
        await site.start()
        log.info("API listening on %s", ", ".join(f"http://{a[0]}:{a[1]}/" for a in runner.addresses))
        yield runner
    finally:
        await runner.cleanup()


async def serve_api(
    settings: Settings,
    engine: LookupEngine,
    redis: Redis | None,
    stack: AsyncExitStack,
    *,
    ami_state: AmiState | None = None,
) -> web.AppRunner:
    """Start the API inside ``stack`` (closed, gracefully, when the stack closes)."""
    return await stack.enter_async_context(api_site(settings, engine, redis, ami_state=ami_state))


async def serve_until_signalled(settings: Settings, *, reuse_port: bool = False) -> None:
    """One process's whole life: Redis, engine, API; returns after SIGTERM or SIGINT, once drained."""
    with stop_on_signals(asyncio.Event()) as stop:
        async with (
            open_redis(settings) as redis,
            open_engine(settings, redis) as engine,
            api_site(settings, engine, redis, reuse_port=reuse_port),
        ):
            await stop.wait()
            log.info("shutting down")


def run(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on uvloop when it is installed (about a third more requests per second)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def worker_process(settings: Settings) -> None:
    """Entry point of each ``--workers`` child (spawned: a fresh interpreter, nothing inherited)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    run(serve_until_signalled(settings, reuse_port=True))


def run_workers(settings: Settings, workers: int) -> int:
    """Start ``workers`` processes on one port; stop them all on SIGTERM/SIGINT or when one dies."""
    if workers == 1:
        run(serve_until_signalled(settings))
        return 0
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=worker_process, args=(settings,), name=f"numlookup-api-{n}")
        for n in range(workers)
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.is_alive() and child.pid is not None:
                child.terminate()  # SIGTERM: each drains its requests

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        sentinels = [child.sentinel for child in children]
        multiprocessing.connection.wait(sentinels)  # returns as soon as one child exits
        if not stopping:
            log.error("an API worker exited unexpectedly; stopping the others")
            stop(signal.SIGTERM, None)
        for child in children:
            child.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    codes = [child.exitcode or 0 for child in children]
    return 0 if stopping and all(code == 0 for code in codes) else 1
