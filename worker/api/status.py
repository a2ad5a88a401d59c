"""``numlookup worker``'s own ``/health`` and ``/metrics``, for a worker that runs without the API.

``numlookup run`` shows the AMI worker in the API's endpoints. A worker of its own (the compose file's, or
one per PBX beside a central API) has no API to show it: with ``ami.status_port`` set it listens there for
the same ``/health`` body (dataset, Redis, ``"ami"``: 200 while it runs, ``status`` says ``degraded`` while
an Asterisk is not connected) and a ``/metrics`` of the worker's series with its process's (caches, Redis,
dataset). Nothing else is served there: no lookups, and every other path is the API's JSON 404.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from worker.api import health
from worker.api.metrics import ProcessCollector, exposition
from worker.api.replies import error_response, json_response
from worker.errors import ConfigError
from worker.lookup.engine import LookupEngine
from worker.settings import Settings

log = logging.getLogger(__name__)


def status_app(
    settings: Settings, engine: LookupEngine, redis: Redis | None, worker: health.AmiMetrics
) -> web.Application:
    """``/health`` and ``/metrics`` of a process running ``worker`` (the AMI worker) on ``engine``."""
    process = ProcessCollector(engine)
    registry = CollectorRegistry()
    registry.register(worker)
    registry.register(process)
    if engine.upstream is not None:
        registry.register(engine.upstream)
    timeout = settings.redis.timeout
    ami = worker if isinstance(worker, health.AmiState) else None

    async def health_view(request: web.Request) -> web.Response:
        stale_after = settings.data.stale_after_days
        body = await health.report(engine, redis, ami, redis_timeout=timeout, stale_after_days=stale_after)
        return json_response(200, body)

    async def metrics_view(request: web.Request) -> web.Response:
        if redis is not None:
            process.redis_up = await health.redis_reachable(redis, timeout)
        return exposition(registry)

    async def not_here(request: web.Request) -> web.Response:
        return error_response(404, "404 Not Found")

    app = web.Application()
    app.router.add_get("/health", health_view)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_route("*", "/{tail:.*}", not_here)
    return app


@contextlib.asynccontextmanager
async def status_site(
    settings: Settings, engine: LookupEngine, redis: Redis | None, worker: health.AmiMetrics
) -> AsyncIterator[web.AppRunner]:
    """:func:`status_app` listening on ``ami.status_host``/``status_port`` until the context exits."""
    host, port = settings.ami.status_host, settings.ami.status_port
    runner = web.AppRunner(status_app(settings, engine, redis, worker), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:  # as the API's: one line, not a traceback
            raise ConfigError(
                f"the worker's status cannot listen on {host}:{port}: {error.strerror or error}"
            ) from None
        log.info("worker status on %s", ", ".join(f"http://{a[0]}:{a[1]}/health" for a in runner.addresses))
        yield runner
    finally:
        await runner.cleanup()
