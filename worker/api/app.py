"""The aiohttp application: routes, each wrapped by :class:`worker.api.guard.Guard`, the direct route of the
single-number lookups (:func:`request_handler`), and typed app keys.

The engine, Redis client and AMI state are passed in and belong to the caller; the app owns only what it
builds (limiter, metrics and their Prometheus registry, the page) and loads them in ``cleanup_ctx``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from aiohttp import HttpVersion11, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from worker import __version__
from worker.api import health, metrics, openapi, page
from worker.api.addresses import ClientAddress, parse_networks
from worker.api.guard import Guard, Handler, fallback, preflight
from worker.api.health import AmiState
from worker.api.ratelimit import RateLimiter
from worker.api.replies import error_response, json_response
from worker.api.views import Lookups
from worker.lookup.engine import LookupEngine
from worker.settings import Settings

SETTINGS: Final = web.AppKey("settings", Settings)
ENGINE: Final = web.AppKey("engine", LookupEngine)
REDIS: Final = web.AppKey[Redis | None]("redis")
AMI_STATE: Final = web.AppKey[AmiState | None]("ami_state")
LIMITER: Final = web.AppKey("limiter", RateLimiter)
ITEMS: Final = web.AppKey("items", RateLimiter)  # the budget of numbers in batches
METRICS: Final = web.AppKey("metrics", metrics.HttpCollector)
REGISTRY: Final = web.AppKey("registry", CollectorRegistry)
SIBLINGS: Final = web.AppKey[metrics.Siblings | None]("siblings")
DIRECT: Final = web.AppKey[dict[str, Handler]]("direct")  # path → guarded view, for request_handler()
LOOKUP_PATHS: Final = frozenset({"/get/", "/get", "/get/v2/", "/get/v2"})  # the single-number lookups


def create_app(
    settings: Settings,
    engine: LookupEngine,
    *,
    redis: Redis | None = None,
    ami_state: AmiState | None = None,
    siblings: metrics.Siblings | None = None,
) -> web.Application:
    """The API; ``siblings``: the other processes of ``--workers N``, whose series ``/metrics`` includes."""
    http = settings.http
    limiter = RateLimiter(
        http.rate_limit, redis, prefix=settings.redis.prefix, timeout=settings.redis.timeout
    )
    items = RateLimiter(
        http.batch_item_rate,
        redis,
        prefix=settings.redis.prefix,
        kind="items",
        timeout=settings.redis.timeout,
    )
    stats = metrics.Metrics()
    addresses = ClientAddress(
        parse_networks(http.trusted_proxies),
        parse_networks(http.rate_limit_exempt, "http.rate_limit_exempt"),
    )
    guard = Guard(limiter, addresses, stats, items)
    # A batch of batch_limit numbers with separators and quotes fits easily in 64 bytes a number.
    app = web.Application(client_max_size=max(1 << 20, http.batch_limit * 64))
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[REDIS] = redis
    app[AMI_STATE] = ami_state
    app[SIBLINGS] = siblings
    app[LIMITER] = limiter
    app[ITEMS] = items
    app[METRICS] = metrics.HttpCollector(stats, engine, limiter)
    # Per app, not prometheus_client's global REGISTRY: a process (or a test session) may build several apps.
    app[REGISTRY] = registry = CollectorRegistry()
    registry.register(app[METRICS])
    if isinstance(ami_state, health.AmiMetrics):
        registry.register(ami_state)
    if engine.upstream is not None:
        registry.register(engine.upstream)
    app.cleanup_ctx.append(page.loader(http.batch_limit))
    app.cleanup_ctx.append(quiet_protocol_errors)
    app.cleanup_ctx.append(close_limiter)

    lookups = Lookups(
        engine,
        batch_limit=http.batch_limit,
        trusted=addresses.is_trusted,
        body_timeout=http.body_timeout,
        budget=guard.within_budget,
    )
    expect = expect_within(app._client_max_size)
    routes: list[tuple[str, str, Handler, str, bool]] = [
        ("GET", "/get/", lookups.v1, "v1", True),
        ("GET", "/get", lookups.v1, "v1", True),
        ("GET", "/get/v2/", lookups.v2, "v2", True),
        ("GET", "/get/v2", lookups.v2, "v2", True),
        ("POST", "/get/batch", lookups.v1_batch, "v1_batch", True),
        ("POST", "/get/v2/batch", lookups.v2_batch, "v2_batch", True),
        ("GET", "/health", health_view, "health", False),
        ("GET", "/metrics", metrics_view, "metrics", False),
        ("GET", "/openapi.json", openapi_view, "openapi", False),
    ]
    routes += [("GET", path, page.view(path), "page", False) for path, _, _ in page.FILES]
    allowed: dict[str, str] = {}
    app[DIRECT] = direct = {}
    for method, path, handler, label, limited in routes:
        wrapped = guard.wrap(label, handler, limited=limited)
        if path in LOOKUP_PATHS:
            direct[path] = wrapped
        if method == "GET":
            app.router.add_get(path, wrapped, expect_handler=expect)  # HEAD too
        else:
            app.router.add_route(method, path, wrapped, expect_handler=expect)
        allowed[path] = "GET, HEAD, OPTIONS" if method == "GET" else f"{method}, OPTIONS"
    # Plain paths are found by one dict lookup before these patterns are tried, so they cost nothing there.
    app.router.add_route("OPTIONS", "/{tail:.*}", guard.wrap("preflight", preflight))
    app.router.add_route("*", "/{tail:.*}", guard.wrap("other", fallback(allowed)), expect_handler=expect)
    return app


def request_handler(app: web.Application) -> Handler:
    """What the server calls for each request: the app's router, except for a ``GET`` of a single-number
    lookup, which goes straight to its guarded view.

    This is the hot path of dialplans and CRMs, and the router's work per request (resolving the path into a
    match object, freezing it, looking for an ``Expect`` header) was a tenth of its cost. The view is the
    very one the router would call; what the router does besides is not needed by it: ``HEAD``, ``Expect:
    100-continue`` and any other path or method still take the router, and the app registers no middleware
    or ``on_response_prepare`` signal that a routed request would run.
    """
    direct = app[DIRECT]
    routed = app._handle

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and hdrs.EXPECT not in request.headers:
            view = direct.get(request.rel_url.path_safe)  # the router matches the same form of the path
            if view is not None:
                return await view(request)
        return await routed(request)

    return handle


def expect_within(limit: int) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    """``Expect: 100-continue`` answered 413 at once when ``Content-Length`` is past ``limit`` (aiohttp's own
    handler says ``100 Continue`` to anything, and the client then sends the whole body)."""

    async def expect(request: web.Request) -> web.StreamResponse | None:
        value = request.headers.get(hdrs.EXPECT, "").lower()
        if value != "100-continue":
            return error_response(417, f"Expectation Failed: unknown Expect {value[:40]!r}")
        length = request.content_length
        if length is not None and length > limit:
            response = error_response(
                413, f"Request Entity Too Large: {length:,} bytes, the limit is {limit:,}"
            )
            response.force_close()  # the client will not send the body: nothing left to read
            return response
        if request.version == HttpVersion11:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the answer proper has not started yet
        return None

    return expect


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


async def close_limiter(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[LIMITER].close()
    await app[ITEMS].close()


async def openapi_view(request: web.Request) -> web.Response:
    return json_response(200, openapi.document(__version__))


async def health_view(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    body = await health.report(
        app[ENGINE],
        app[REDIS],
        app[AMI_STATE],
        redis_timeout=settings.redis.timeout,
        stale_after_days=settings.data.stale_after_days,
    )
    return json_response(200, body)


async def metrics_view(request: web.Request) -> web.Response:
    app = request.app
    redis = app[REDIS]
    if redis is not None:
        app[METRICS].redis_up = await health.redis_reachable(redis, app[SETTINGS].redis.timeout)
    siblings = app[SIBLINGS]
    if siblings is None or request.query.get("scope") == metrics.PROCESS_ONLY:
        return metrics.exposition(app[REGISTRY])
    others = await siblings.families()
    everyone = CollectorRegistry()
    everyone.register(metrics.Merged([*app[REGISTRY].collect(), *others]))
    return metrics.exposition(everyone)
