"""The serve commands' bodies: ``numlookup api``, ``numlookup worker`` and ``numlookup run``.

Each builds Redis, the engine and its front ends in one ``AsyncExitStack`` and runs until SIGTERM/SIGINT (or
``stop``), then closes them in reverse order:

- :func:`serve_api` — the HTTP API; with ``workers > 1``, that many processes sharing the port
  (``SO_REUSEPORT``: the kernel spreads connections over them). Each opens its own Redis client and
  engine; the dataset's ported numbers are memory-mapped, so the processes share one copy in the page cache;
- :func:`serve_worker` — the AMI worker and FastAGI;
- :func:`serve_everything` — all three in one process, for small installs: one Redis client, one engine and
  one dataset follower serve them, and ``/health`` and ``/metrics`` include the worker's state.

Each first makes sure there is data (:func:`worker.service.seed.ensure_dataset`: the bundled snapshot when
none exists) and, while only that snapshot serves, tries the official portal in the background
(:func:`worker.service.seed.portal_on_start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from worker.api.metrics import Siblings
from worker.api.site import api_site
from worker.api.status import status_site
from worker.asterisk.worker import start_worker
from worker.errors import ConfigError, NumlookupError
from worker.service.banner import banner
from worker.service.resources import open_engine, open_redis, run_event_loop, stop_on_signals
from worker.service.seed import ensure_dataset, portal_on_start
from worker.settings import Settings

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG: Final = 1  # prctl(2): the signal a child gets when its parent dies


async def serve_everything(
    settings: Settings, stop: asyncio.Event | None = None, *, announce: Callable[[str], None] | None = None
) -> None:
    """Redis, engine, AMI worker, FastAGI and API until SIGTERM/SIGINT (or ``stop``), then close in order.

    ``announce`` is given the :func:`worker.service.banner.banner` once everything listens.
    """
    with stop_on_signals(stop) as stopping:
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(open_redis(settings))
            await ensure_dataset(settings, redis)
            engine = await stack.enter_async_context(open_engine(settings, redis))
            worker = await stack.enter_async_context(start_worker(settings, engine, redis))
            runner = await stack.enter_async_context(api_site(settings, engine, redis, ami_state=worker))
            fetching = await stack.enter_async_context(portal_on_start(settings, engine))
            if announce is not None:
                fastagi = worker.fastagi.port if worker.fastagi is not None else None
                announce(
                    banner(
                        settings,
                        engine,
                        addresses=runner.addresses,
                        fastagi_port=fastagi,
                        fetching=fetching is not None,
                    )
                )
            await stopping.wait()
            log.info("shutting down")


async def serve_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Redis + engine + the AMI worker and FastAGI (and the worker's status, if ``ami.status_port`` is set)
    until SIGTERM/SIGINT (or ``stop``)."""
    if not settings.ami.all_servers() and not settings.fastagi.enabled:
        raise ConfigError("nothing to run: no Asterisk configured and FastAGI disabled")
    with stop_on_signals(stop) as stopping:
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(open_redis(settings))
            await ensure_dataset(settings, redis)
            engine = await stack.enter_async_context(open_engine(settings, redis))
            worker = await stack.enter_async_context(start_worker(settings, engine, redis))
            if settings.ami.status_port is not None:
                await stack.enter_async_context(status_site(settings, engine, redis, worker))
            await stack.enter_async_context(portal_on_start(settings, engine))
            await stopping.wait()
            log.info("stopping the worker")


async def serve_api_process(
    settings: Settings, *, reuse_port: bool = False, fetch: bool = True, siblings: Path | None = None
) -> None:
    """One API process's whole life: Redis, engine, API; returns after SIGTERM or SIGINT, once drained.

    ``fetch``: this process is the one that tries the portal while the bundled snapshot serves (of several
    ``--workers``, only the first; the others follow the new version like any replica). ``siblings``: the
    directory where the processes of ``--workers N`` meet for one ``/metrics`` of all.
    """
    with stop_on_signals() as stop:
        async with (
            open_redis(settings) as redis,
            open_engine(settings, redis) as engine,
            api_site(
                settings,
                engine,
                redis,
                reuse_port=reuse_port,
                siblings=None if siblings is None else Siblings(siblings),
            ),
            portal_on_start(settings, engine, enabled=fetch),
        ):
            await stop.wait()
            log.info("shutting down")


def _api_child(settings: Settings, fetch: bool, siblings: Path) -> None:
    """Entry point of each ``--workers`` child (spawned: a fresh interpreter, nothing inherited)."""
    die_with_parent()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    try:
        run_event_loop(serve_api_process(settings, reuse_port=True, fetch=fetch, siblings=siblings))
    except NumlookupError as error:  # one line, as the single-process API's
        print(f"numlookup: {error}", file=sys.stderr)
        sys.exit(2)


def die_with_parent() -> None:
    """Have the kernel stop this child when the parent dies, however it dies (SIGKILL included): orphaned
    workers would keep serving the port, and holding the parent's stderr, after ``numlookup api`` is gone."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        log.warning("cannot tie this worker to its parent: %s", os.strerror(ctypes.get_errno()))
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)


async def _seed(settings: Settings) -> None:
    async with open_redis(settings) as redis:
        await ensure_dataset(settings, redis)


def check_port_free(settings: Settings) -> None:
    """Refuse at once, in one line, a port the ``--workers`` children could not share (another program
    holds it), instead of every child failing on its own."""
    host, port = settings.http.host, settings.http.port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind(address)
    except OSError as error:
        raise ConfigError(f"the API cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve_api(settings: Settings) -> int:
    """``settings.http.workers`` API processes on one port; all stop on SIGTERM/SIGINT or when one dies."""
    workers = settings.http.workers
    run_event_loop(_seed(settings))  # once, before any process opens the engine
    if workers == 1:
        run_event_loop(serve_api_process(settings))
        return 0
    check_port_free(settings)
    context = multiprocessing.get_context("spawn")
    siblings = Path(tempfile.mkdtemp(prefix="numlookup-api-"))  # each child's socket for the others' scrapes
    children = [
        context.Process(target=_api_child, args=(settings, n == 0, siblings), name=f"numlookup-api-{n}")
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
        shutil.rmtree(siblings, ignore_errors=True)
    codes = [child.exitcode or 0 for child in children]
    return 0 if stopping and all(code == 0 for code in codes) else 1
