"""The enrichment worker: every AMI client and the FastAGI server, run in the background together.

``async with start_worker(settings, engine, redis) as worker:`` runs them until the block exits;
``worker.health()`` feeds the HTTP API's ``/health``, and the worker, a prometheus_client collector
(``collect()``), is registered with its ``/metrics`` when both run in one process (``numlookup run``,
:mod:`worker.service.serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Final

from prometheus_client.core import Metric
from redis.asyncio import Redis

from worker.asterisk.ami import AmiClient
from worker.asterisk.fastagi import FastAgiServer
from worker.asterisk.stats import HandlerStats
from worker.handlers import route_user_events, user_event_table
from worker.handlers.claims import Claims
from worker.lookup.engine import LookupEngine
from worker.metrics import Family, counter, gauge
from worker.settings import Settings

log = logging.getLogger(__name__)


class EnrichmentWorker:
    """Every AMI client, the FastAGI server and their counters. Build it with :func:`start_worker`."""

    def __init__(self, settings: Settings, engine: LookupEngine, redis: Redis | None) -> None:
        self.stats = HandlerStats()
        self.claims = Claims(redis, prefix=settings.redis.prefix, ttl=settings.ami.claim_ttl)
        table = user_event_table(
            settings.ami, engine, self.claims, self.stats, upstream_deadline=settings.upstream.ami_deadline
        )
        route = route_user_events(table)
        self.clients = [AmiClient(server, settings.ami) for server in settings.ami.all_servers()]
        for client in self.clients:
            client.on("UserEvent", route)
        self.fastagi = (
            FastAgiServer(engine, self.stats, settings.fastagi) if settings.fastagi.enabled else None
        )

    def health(self) -> dict[str, object]:
        """State for ``/health``: ``ok`` is true when every configured Asterisk is logged in."""
        self.stats.claim_errors = self.claims.errors
        now = asyncio.get_running_loop().time()
        servers = [
            {
                "server": client.name,
                "state": client.state,
                "connected_for": None
                if client.stats.connected_since is None
                else round(now - client.stats.connected_since, 1),
                "reconnects": client.stats.reconnects,
                "login_failures": client.stats.login_failures,
                "dropped_actions": client.stats.dropped_actions,
                "last_error": client.stats.last_error,
            }
            for client in self.clients
        ]
        return {
            "ok": all(client.state == "connected" for client in self.clients),
            "ami": servers,
            **self.stats.as_dict(),
            "fastagi": {
                "listening": self.fastagi is not None and self.fastagi.listening,
                **self.stats.fastagi_dict(),
            },
        }

    def collect(self) -> Iterator[Metric]:
        """The worker's Prometheus metric families, read when ``/metrics`` is scraped."""
        self.stats.claim_errors = self.claims.errors
        yield from self.stats.collect()
        clients = self.clients
        for name, family, documentation, value in PER_SERVER:
            yield family(name, documentation, ("server",), [((c.name,), value(c)) for c in clients])

    async def run(self) -> None:
        """Run every AMI client until cancelled (FastAGI is started and closed by :func:`start_worker`)."""
        async with asyncio.TaskGroup() as group:
            for client in self.clients:
                group.create_task(client.run(), name=f"ami-{client.name}")


def _connected(client: AmiClient) -> int:
    return int(client.state == "connected")


# name (counters without _total), family, HELP, value: one series per Asterisk, labelled server.
PER_SERVER: Final[tuple[tuple[str, Family, str, Callable[[AmiClient], int]], ...]] = (
    ("numlookup_ami_connected", gauge, "1 while logged in", _connected),
    ("numlookup_ami_reconnects", counter, "sessions re-established", lambda c: c.stats.reconnects),
    ("numlookup_ami_login_failures", counter, "Logins refused", lambda c: c.stats.login_failures),
    (
        "numlookup_ami_watchdog_timeouts",
        counter,
        "Pings unanswered in time",
        lambda c: c.stats.watchdog_timeouts,
    ),
    ("numlookup_ami_dropped_actions", counter, "stale actions dropped", lambda c: c.stats.dropped_actions),
)


@contextlib.asynccontextmanager
async def start_worker(
    settings: Settings, engine: LookupEngine, redis: Redis | None
) -> AsyncIterator[EnrichmentWorker]:
    """Run the worker in the background for the duration of the block; FastAGI is listening on entry."""
    if not settings.ami.all_servers():
        log.warning("no Asterisk configured (NUMLOOKUP_AMI__HOST or ami.servers): FastAGI only")
    worker = EnrichmentWorker(settings, engine, redis)
    # Everything alive now (modules, libphonenumber's metadata, settings) lives as long as the process: keep
    # it out of the cyclic GC, whose full passes over it stalled the event loop for ~30 ms (p99 latency).
    gc.collect()
    gc.freeze()
    if worker.fastagi is not None:
        await worker.fastagi.start()
    task = asyncio.create_task(worker.run(), name="enrichment-worker")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if worker.fastagi is not None:
            await worker.fastagi.close()
