"""What every route gets around its handler: rate limit, error shaping and metrics.

This is what a middleware would do, applied per route instead: aiohttp runs no middleware machinery at all
when an app has none, which saves two coroutine layers a request on the hot path. CORS headers are in every
response the views build (:mod:`worker.api.replies`), so nothing here touches headers of a good answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import hdrs, web

from worker.api.addresses import ClientAddress
from worker.api.metrics import Metrics
from worker.api.ratelimit import RateLimiter
from worker.api.replies import CORS_PREFLIGHT, SERVER, error_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INTERNAL_ERROR: Final = "Internal error"
CLIENT_CLOSED: Final = 499  # the status nginx logs for "client closed the request": counted, never a 5xx


class Guard:
    def __init__(
        self,
        limiter: RateLimiter,
        addresses: ClientAddress,
        stats: Metrics,
        items: RateLimiter | None = None,
    ) -> None:
        self.limiter = limiter
        self.addresses = addresses
        self.stats = stats
        self.items = items  # the per-address budget of numbers in batches

    async def within_budget(self, request: web.Request, numbers: int) -> web.Response | None:
        """``None`` if the client may have ``numbers`` more numbers looked up in batches, else the 429.

        A batch is one request to the rate limit but up to ``batch_limit`` lookups: without a budget of
        numbers, one client could keep the process busy within its request limit.
        """
        items = self.items
        if items is None or not items.enabled:
            return None
        client = self.client(request)
        if self.addresses.is_exempt(client):  # the exempt networks (the PBX next door) have no budget either
            return None
        verdict = await items.check(client, numbers)
        if verdict.allowed:
            return None
        window = items.local.window
        info = f"Too many numbers in batches: the limit is {window.limit} per {window.seconds} s per address"
        return too_many(items, verdict.retry_after, info)

    def client(self, request: web.Request) -> str:
        peer = request.remote
        forwarded = None
        if peer is not None and self.addresses.is_trusted(peer):
            forwarded = request.headers.get(hdrs.X_FORWARDED_FOR)
        return self.addresses.resolve(peer, forwarded)

    def wrap(self, label: str, handler: Handler, *, limited: bool = False) -> Handler:
        limiter = self.limiter
        observe = self.stats.observe
        is_exempt = self.addresses.is_exempt
        perf_counter = time.perf_counter

        async def guarded(request: web.Request) -> web.StreamResponse:
            started = perf_counter()
            try:
                if limited and limiter.enabled and not is_exempt(client := self.client(request)):
                    verdict = await limiter.check(client)
                    response = (
                        await handler(request)
                        if verdict.allowed
                        else too_many(limiter, verdict.retry_after, None)
                    )
                else:
                    response = await handler(request)
            except web.HTTPException as error:  # aiohttp's own (413 from reading a body): our JSON shape
                response = error_response(error.status, f"{error.status} {error.reason}")
            except ConnectionResetError:  # the client hung up (mid-upload): not our error, nobody to answer
                log.debug("client went away during %s %s", request.method, request.path)
                response = web.Response(
                    status=CLIENT_CLOSED, headers=SERVER
                )  # never sent: the client is gone
            except Exception:  # last resort; the tests show no input reaches it
                log.exception("unexpected error answering %s %s", request.method, request.path_qs)
                response = error_response(500, INTERNAL_ERROR)
            observe(label, response.status, perf_counter() - started)
            return response

        return guarded


def too_many(limiter: RateLimiter, retry_after: int, info: str | None) -> web.Response:
    window = limiter.local.window
    response = error_response(
        429,
        info or f"Too many requests: the limit is {window.limit} per {window.seconds} s per address",
        retry_after=retry_after,
    )
    response.headers[hdrs.RETRY_AFTER] = str(retry_after)
    return response


def fallback(allowed: dict[str, str]) -> Handler:
    """The catch-all route: 405 (with ``Allow``) on a known path, else 404; both in the JSON error shape."""

    async def not_routed(request: web.Request) -> web.StreamResponse:
        methods = allowed.get(request.path)
        if methods is None:
            return error_response(404, "404 Not Found")
        response = error_response(405, "405 Method Not Allowed")
        response.headers[hdrs.ALLOW] = methods
        return response

    return not_routed


async def preflight(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204, headers=CORS_PREFLIGHT)
