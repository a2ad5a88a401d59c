"""The HTTP connection as the API runs it: aiohttp's protocol, a deadline on request heads, JSON errors.

aiohttp bounds the size of a request head but not the time it takes: a client that trickles one header byte
a second holds a connection (and its memory) for ever. Here a request head must be complete within
``http.header_timeout`` seconds of its first byte (of the connection, for the first request); otherwise the
connection gets a 408 and is closed. Idle keep-alive connections between requests are aiohttp's business
(its keep-alive timeout), and a body's time is bounded where it is read (:mod:`worker.api.views`).

What aiohttp's parser refuses before any route runs gets the API's JSON error shape too: a request line past
aiohttp's 8 KB limit (a 100 KB query string) is a 414, a header past it a 431, any other bytes that are not
HTTP a 400 — logged as one line, not a traceback.

This relies on two internals of aiohttp's ``RequestHandler`` (``_request_count`` and ``_handle_request``),
checked by ``tests/api/test_slow_clients.py``.
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


class GuardedHandler(RequestHandler):
    """aiohttp's protocol with a request-head deadline and JSON errors (see the module docstring)."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        self._between_requests = False  # after a response: the next byte starts a new head's clock
        self._timed_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._timed_out:  # answered 408: only waiting to close
            return
        if self._between_requests and data:
            self._between_requests = False
            self._arm()
        before = self._request_count
        super().data_received(data)
        if self._request_count > before:  # a whole head arrived (or one aiohttp refused): the clock stops
            self._disarm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    async def _handle_request(
        self,
        request: Any,
        start_time: float | None,
        request_handler: Callable[[Any], Awaitable[web.StreamResponse]],
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            self._between_requests = True

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self._loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
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
        self._head_deadline = self._loop.call_later(LINGER, self.force_close)

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


class GuardedServer(web.Server):
    """aiohttp's server making :class:`GuardedHandler` connections."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, loop=self._loop, header_timeout=self.header_timeout, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """An ``AppRunner`` whose server is a :class:`GuardedServer`."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app up and collects aiohttp's handler options
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            header_timeout=self.header_timeout,
            **plain._kwargs,
        )
