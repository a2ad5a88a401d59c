"""The API listening on its address: one aiohttp site, shut down gracefully.

:mod:`worker.service.serve` runs it, alone (one process per ``--workers``) or next to the AMI worker.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from worker.api.app import create_app, request_handler
from worker.api.health import AmiState
from worker.api.metrics import Siblings
from worker.api.protocol import GuardedRunner
from worker.errors import ConfigError
from worker.lookup.engine import LookupEngine
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
    siblings: Siblings | None = None,
) -> AsyncIterator[web.AppRunner]:
    """The API listening on ``settings.http.host``/``port`` until the context exits.

    ``runner.addresses`` gives the bound addresses (port 0 picks a free one). With ``siblings`` (one of
    ``--workers N``) it also listens on its socket there, for the others' scrapes.
    """
    app = create_app(settings, engine, redis=redis, ami_state=ami_state, siblings=siblings)
    runner = GuardedRunner(
        app,
        header_timeout=settings.http.header_timeout,
        request_handler=request_handler(app),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http.host, settings.http.port, reuse_port=reuse_port or None)
        try:
            await site.start()
        except OSError as error:  # the port in use, an address not on this host: one line, as FastAGI's
            where = f"{settings.http.host}:{settings.http.port}"
            raise ConfigError(f"the API cannot listen on {where}: {error.strerror or error}") from None
        if siblings is not None:
            await web.UnixSite(runner, str(siblings.socket)).start()
        log.info("API listening on %s", ", ".join(f"http://{a[0]}:{a[1]}/" for a in runner.addresses))
        yield runner
    finally:
        await runner.cleanup()
        if siblings is not None:
            siblings.socket.unlink(missing_ok=True)
