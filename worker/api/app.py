"""The aiohttp application: routes, the one middleware, and what the app keeps in typed keys.

The engine, Redis client and AMI state are passed in and belong to the caller; the app owns only what it
builds (limiter, metrics, the page) and loads them in ``cleanup_ctx``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Final

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_urldispatcher import AbstractRoute
from redis.asyncio import Redis

from worker import __version__
from worker.api import health, metrics, openapi
from worker.api.health import AmiState
from worker.api.ratelimit import ClientAddress, RateLimiter, parse_networks
from worker.api.views import Lookups, error_response
from worker.engine import LookupEngine
from worker.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS: Final = web.AppKey("settings", Settings)
ENGINE: Final = web.AppKey("engine", LookupEngine)
REDIS: Final = web.AppKey[Redis | None]("redis")
AMI_STATE: Final = web.AppKey[AmiState | None]("ami_state")
LIMITER: Final = web.AppKey("limiter", RateLimiter)
METRICS: Final = web.AppKey("metrics", metrics.Metrics)
PAGE: Final = web.AppKey("page", bytes)

LIMITED_ROUTES: Final = frozenset({"v1", "v2", "v1_batch", "v2_batch"})
CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
ALLOW_ORIGIN: Final = "Access-Control-Allow-Origin"


def create_app(
    settings: Settings, engine: LookupEngine, *, redis: Redis | None = None, ami_state: AmiState | None = None
) -> web.Application:
    http = settings.http
    limiter = RateLimiter(http.rate_limit, redis, prefix=settings.redis.prefix)
    stats = metrics.Metrics()
    labels: dict[AbstractRoute, str] = {}
    front = front_middleware(limiter, ClientAddress(parse_networks(http.trusted_proxies)), stats, labels)
    # A batch of batch_limit numbers with separators and quotes fits easily in 64 bytes a number.
    app = web.Application(middlewares=[front], client_max_size=max(1 << 20, http.batch_limit * 64))
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[REDIS] = redis
    app[AMI_STATE] = ami_state
    app[LIMITER] = limiter
    app[METRICS] = stats
    app.cleanup_ctx.append(load_page)
    app.cleanup_ctx.append(quiet_protocol_errors)

    lookups = Lookups(engine, batch_limit=http.batch_limit)
    routes: list[tuple[str, str, Handler, str]] = [
        ("GET", "/get/", lookups.v1, "v1"),
        ("GET", "/get", lookups.v1, "v1"),
        ("GET", "/get/v2/", lookups.v2, "v2"),
        ("GET", "/get/v2", lookups.v2, "v2"),
        ("POST", "/get/batch", lookups.v1_batch, "v1_batch"),
        ("POST", "/get/v2/batch", lookups.v2_batch, "v2_batch"),
        ("GET", "/health", health_view, "health"),
        ("GET", "/metrics", metrics_view, "metrics"),
        ("GET", "/openapi.json", openapi_view, "openapi"),
        ("GET", "/", page_view, "page"),
    ]
    for method, path, handler, label in routes:
        labels[app.router.add_route(method, path, handler)] = label
    return app


def front_middleware(
    limiter: RateLimiter, addresses: ClientAddress, stats: metrics.Metrics, labels: dict[AbstractRoute, str]
) -> Middleware:
    """Preflight, rate limit, error shaping, CORS and metrics in one layer (cheaper than five layers)."""
    proxies = addresses.is_trusted

    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        label = labels.get(request.match_info.route, "other")
        try:
            if request.method == hdrs.METH_OPTIONS:
                label = "preflight"
                response: web.StreamResponse = web.Response(status=204, headers=CORS_HEADERS)
            elif limiter.enabled and label in LIMITED_ROUTES:
                peer = request.remote
                forwarded = request.headers.get(hdrs.X_FORWARDED_FOR) if peer and proxies(peer) else None
                verdict = await limiter.check(addresses.resolve(peer, forwarded))
                if verdict.allowed:
                    response = await handler(request)
                else:
                    response = too_many(limiter, verdict.retry_after)
            else:
                response = await handler(request)
        except web.HTTPException as error:  # aiohttp's own 404/405/413: the same JSON shape as ours
            response = error_response(error.status, f"{error.status} {error.reason}")
            if hdrs.ALLOW in error.headers:
                response.headers[hdrs.ALLOW] = error.headers[hdrs.ALLOW]
        except Exception:  # last resort; the tests show no input reaches it
            log.exception("unexpected error answering %s %s", request.method, request.path_qs)
            response = error_response(500, "Internal error")
        response.headers[ALLOW_ORIGIN] = "*"
        stats.observe(label, response.status, time.perf_counter() - started)
        return response

    return front


def too_many(limiter: RateLimiter, retry_after: int) -> web.Response:
    window = limiter.local.window
    response = error_response(
        429,
        f"Too many requests: the limit is {window.limit} per {window.seconds} s per address",
        retry_after=retry_after,
    )
    response.headers[hdrs.RETRY_AFTER] = str(retry_after)
    return response


class ProtocolErrorFilter(logging.Filter):
    """Bytes that are not HTTP (aiohttp answers 400 itself) deserve one line in the log, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = f"{record.msg}: %s"
            record.args = (*(record.args or ()), str(error).replace("\n", " "))
            record.exc_info = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


async def quiet_protocol_errors(app: web.Application) -> AsyncIterator[None]:
    server_log = logging.getLogger("aiohttp.server")
    quiet = ProtocolErrorFilter()
    server_log.addFilter(quiet)
    yield
    server_log.removeFilter(quiet)


async def load_page(app: web.Application) -> AsyncIterator[None]:
    app[PAGE] = resources.files("worker").joinpath("static/index.html").read_bytes()
    yield


async def page_view(request: web.Request) -> web.Response:
    return web.Response(body=request.app[PAGE], content_type="text/html", charset="utf-8")


async def openapi_view(request: web.Request) -> web.Response:
    return web.Response(text=json.dumps(openapi.document(__version__)), content_type="application/json")


async def health_view(request: web.Request) -> web.Response:
    app = request.app
    body = await health.report(
        app[ENGINE], app[REDIS], app[AMI_STATE], redis_timeout=app[SETTINGS].redis.timeout
    )
    return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/json")


async def metrics_view(request: web.Request) -> web.Response:
    app = request.app
    redis = app[REDIS]
    redis_up = None if redis is None else await health.redis_reachable(redis, app[SETTINGS].redis.timeout)
    text = app[METRICS].render(app[ENGINE], rate_limited=app[LIMITER].rejected, redis_up=redis_up)
    return web.Response(text=text, headers={hdrs.CONTENT_TYPE: metrics.CONTENT_TYPE})
