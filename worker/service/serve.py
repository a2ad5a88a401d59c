"""The serve commands' bodies: ``numlookup api``, ``numlookup worker`` and ``numlookup run``.

Each builds Redis, the engine and its front ends in one ``AsyncExitStack`` and runs until SIGTERM/SIGINT (or
``stop``), then closes them in reverse order:

- :func:`serve_api` — the HTTP API; with ``workers > 1``, that many processes sharing the port
  (``SO_REUSEPORT``: the kernel spreads connections over them). Each opens its own Redis client and
  engine; the dataset's ported numbers are memory-mapped, so the processes share one copy in the page cache;
- :func:`serve_worker` — the AMI worker and FastAGI;
- :func:`serve_everything` — all three in one process, for small installs: one Redis client, one engine and
  one dataset follower serve them, and ``/health`` and ``/metrics`` include the worker's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import signal
import sys

from worker.api.site import api_site
from worker.asterisk.worker import start_worker
from worker.errors import ConfigError
from worker.service.resources import open_engine, open_redis, run_event_loop, stop_on_signals
from worker.settings import Settings

log = logging.getLogger(__name__)


async def serve_everything(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Redis, engine, AMI worker, FastAGI and API until SIGTERM/SIGINT (or ``stop``), then close in order."""
    with stop_on_signals(stop) as stopping:
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(open_redis(settings))
            engine = await stack.enter_async_context(open_engine(settings, redis))
            worker = await stack.enter_async_context(start_worker(settings, engine, redis))
            await stack.enter_async_context(api_site(settings, engine, redis, ami_state=worker))
            await stopping.wait()
            log.info("shutting down")


async def serve_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Redis + engine + the AMI worker and FastAGI until SIGTERM/SIGINT (or ``stop``)."""
    if not settings.ami.all_servers() and not settings.fastagi.enabled:
        raise ConfigError("nothing to run: no Asterisk configured and FastAGI disabled")
    with stop_on_signals(stop) as stopping:
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(open_redis(settings))
            engine = await stack.enter_async_context(open_engine(settings, redis))
            await stack.enter_async_context(start_worker(settings, engine, redis))
            await stopping.wait()
            log.info("stopping the worker")


async def serve_api_process(settings: Settings, *, reuse_port: bool = False) -> None:
    """One API process's whole life: Redis, engine, API; returns after SIGTERM or SIGINT, once drained."""
    with stop_on_signals() as stop:
        async with (
            open_redis(settings) as redis,
            open_engine(settings, redis) as engine,
            api_site(settings, engine, redis, reuse_port=reuse_port),
        ):
            await stop.wait()
            log.info("shutting down")


def _api_child(settings: Settings) -> None:
    """Entry point of each ``--workers`` child (spawned: a fresh interpreter, nothing inherited)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    run_event_loop(serve_api_process(settings, reuse_port=True))


def serve_api(settings: Settings) -> int:
    """``settings.http.workers`` API processes on one port; all stop on SIGTERM/SIGINT or when one dies."""
    workers = settings.http.workers
    if workers == 1:
        run_event_loop(serve_api_process(settings))
        return 0
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_api_child, args=(settings,), name=f"numlookup-api-{n}")
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
        multiprocessing.connection.wait([child.sentinel for child in children])  # returns when one exits
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
