"""The HTTP connection as the API runs it: aiohttp's protocol, a deadline on request heads, JSON errors.

aiohttp bounds the size of a request head but not the time it takes: a client that trickles one header byte
a second holds a connection (and its memory) for ever. Here a request head must be complete within
``http.header_timeout`` seconds of its first byte (of the connection, for the first request); otherwise the
connection gets a 408 and is closed. Idle keep-alive connections between requests are aiohttp's business
(its keep-alive timeout), and a body's time is bounded where it is read (:mod:`worker.api.views`).

What aiohttp's parser refuses before any route runs gets the API's JSON error shape too: a request line past
aiohttp's 8 KB limit (a 100 KB query string) is a 414, a header past it a 431, any other bytes that are not
HTTP a 400 — logged as one line, not a traceback.

This relies on three internals of aiohttp's ``RequestHandler`` (``_request_count``, ``_request_in_progress``
and ``_messages``), checked by ``tests/api/test_slow_clients.py``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from worker.api.replies import error_response, json_body

log = logging.getLogger(__name__)

# aiohttp's LineTooLong quotes the start of the line: a request line starts with its method and target.
REQUEST_LINE: Final = re.compile(r"reading: (?:bytearray\()?b?['\"](?:[A-Z]{3,7} )?(?:/|\*|https?:)")
LINGER: Final = 1.0  # seconds a timed-out connection keeps reading (and discarding) before it closes
REQUEST_LINE_TOO_LONG: Final = (
    "Request-URI Too Long: the request line is over 8 KB (send long lists as a batch)"
)


_parse: Final = RequestHandler.data_received


class GuardedHandler(RequestHandler):
    """aiohttp's protocol with a request-head deadline and JSON errors (see the module docstring).

    The deadline costs a request nothing but a comparison: a connection notes when a head began (the
    connection's start for the first, else the first byte after an answer) and its server's one sweeper
    (:class:`GuardedServer`) closes the connections whose head is overdue. A timer armed and cancelled per
    request, as before, was a tenth of the v1 hot path's cost over bare aiohttp.
    """

    def __init__(self, *args: Any, header_timeout: float, sweeper: HeadSweeper, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.sweeper = sweeper
        self.head_since: float | None = None  # loop time the pending request head began; None: none pending
        self._linger: asyncio.TimerHandle | None = None
        self._timed_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.head_since = self._loop.time()
        self.sweeper.add(self)

    def data_received(self, data: bytes) -> None:
        if self._timed_out:  # answered 408: only waiting to close
            return
        before = self._request_count
        _parse(self, data)  # RequestHandler.data_received, without super()'s lookup on every chunk
        if self._request_count != before:  # a whole head arrived (or one aiohttp refused): no head pending
            self.head_since = None
        elif self.head_since is None and data and not self._request_in_progress and not self._messages:
            self.head_since = self._loop.time()  # idle between requests, and a new head has begun

    def connection_lost(self, exc: BaseException | None) -> None:
        self.sweeper.discard(self)
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def head_too_slow(self) -> None:
        self.head_since = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = json_body(
            {"info": f"Request Timeout: no complete request head within {self.header_timeout:g} s"}
        )
        transport.write(
            b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"Access-Control-Allow-Origin: *\r\nServer: numlookup\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        log.info("closed a connection whose request head took longer than %g s", self.header_timeout)
        # Closing with the client's bytes still unread would send a reset, which may destroy the 408 before
        # the client reads it: stop writing, throw away what still arrives, and close a moment later.
        self._timed_out = True
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = self._loop.call_later(LINGER, self.force_close)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, LineTooLong):
            line = REQUEST_LINE.search(str(exc)) is not None
            status = 414 if line else 431
            info = REQUEST_LINE_TOO_LONG if line else "Request Header Fields Too Large: a header is over 8 KB"
        else:
            info = f"Bad Request: {str(exc).splitlines()[0] if str(exc) else 'not HTTP'}"
        log.info("refused a request from %s: %s", request.remote, str(exc).replace("\n", " "))
        response = error_response(status, info)
        response.force_close()
        return response


class HeadSweeper:
    """Closes, with a 408, the connections whose request head is older than ``header_timeout``.

    One timer for the whole server, ticking while there are connections: a head is cut off between
    ``header_timeout`` and ``header_timeout`` plus one tick (a quarter of the timeout, at most a second).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, header_timeout: float) -> None:
        self._loop = loop
        self.header_timeout = header_timeout
        self.tick = min(1.0, header_timeout / 4)
        self._connections: set[GuardedHandler] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, connection: GuardedHandler) -> None:
        self._connections.add(connection)
        if self._timer is None:
            self._timer = self._loop.call_later(self.tick, self._sweep)

    def discard(self, connection: GuardedHandler) -> None:
        self._connections.discard(connection)

    def _sweep(self) -> None:
        oldest = self._loop.time() - self.header_timeout
        overdue = [c for c in self._connections if c.head_since is not None and c.head_since <= oldest]
        for connection in overdue:
            connection.head_too_slow()
        self._timer = self._loop.call_later(self.tick, self._sweep) if self._connections else None


class GuardedServer(web.Server):
    """aiohttp's server making :class:`GuardedHandler` connections."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.sweeper = HeadSweeper(self._loop, header_timeout)

    def __call__(self) -> RequestHandler:
        return GuardedHandler(
            self, loop=self._loop, header_timeout=self.header_timeout, sweeper=self.sweeper, **self._kwargs
        )


class GuardedRunner(web.AppRunner):
    """An ``AppRunner`` whose server is a :class:`GuardedServer` calling ``request_handler`` for each request
    (:func:`worker.api.app.request_handler`: the app's router, the lookups excepted)."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float,
        request_handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout
        self.request_handler = request_handler

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app up and collects aiohttp's handler options
        return GuardedServer(
            self.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            header_timeout=self.header_timeout,
            **plain._kwargs,
        )
