"""AMI event handlers and the one table that registers them.

Events arrive from :class:`worker.asterisk.ami.AmiClient` (each already its own tracked task);
``UserEvent``\\ s are routed by their ``UserEvent`` header through :func:`user_event_table`.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.asterisk.ami import AmiEvent, EventCallback
from worker.asterisk.stats import HandlerStats
from worker.handlers.claims import Claims
from worker.handlers.num import NumHandler
from worker.lookup.engine import LookupEngine
from worker.settings import AmiSettings


def user_event_table(
    settings: AmiSettings,
    engine: LookupEngine,
    claims: Claims,
    stats: HandlerStats,
    *,
    upstream_deadline: float | None = None,
) -> dict[str, EventCallback]:
    """UserEvent name (lower case) → handler. Add a handler here and nowhere else."""
    num = NumHandler(
        engine,
        claims,
        stats,
        timeout=settings.timeout,
        concurrency=settings.concurrency,
        deadline=upstream_deadline,
    )
    return {settings.event.lower(): num}


def route_user_events(table: Mapping[str, EventCallback]) -> EventCallback:
    """One callback for ``Event: UserEvent`` that hands each event to its handler; others are ignored."""

    async def route(event: AmiEvent) -> None:
        handler = table.get(event.get("UserEvent").lower())
        if handler is not None:
            await handler(event)

    return route
