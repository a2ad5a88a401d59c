"""Answers written in one piece: a head rendered once per header set, and a body of bytes.

``web.Response`` builds a header dict for every answer, adds ``Content-Length``, ``Date`` and
``Connection`` to it, serialises it and hands it to a stream writer: on the v1 hot path that was about a
quarter of a request's cost, for headers that are the same on every answer but for two values. A
:class:`WireResponse` writes the bytes aiohttp would write, in the order it would write them (the answer's
headers, ``Content-Length``, ``Date``, then ``Connection`` where HTTP needs it), from a status line and
headers rendered once (:class:`Head`); ``tests/api/test_wire.py`` compares both byte for byte.

It is for complete answers whose headers nobody changes after the view (``headers`` is a copy, and an
``on_response_prepare`` signal is not run: the app registers none) and whose status has a body: the lookups'
replies. aiohttp's server calls ``prepare()`` then ``write_eof()`` on what a
handler returns; here ``prepare()`` writes everything through the request's transport, as aiohttp's writer
does, and then, as its ``write_eof()`` does, waits while the transport's buffer is over its high-water mark:
a client that pipelines requests and reads no answer is stopped being read, instead of having every answer
buffered for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import EMPTY_BODY_STATUS_CODES, rfc822_formatted_time
from aiohttp.http import HttpVersion, HttpVersion10, HttpVersion11
from aiohttp.web_response import REASON_PHRASES
from multidict import CIMultiDict

KEEP_ALIVE: Final = b"Connection: keep-alive\r\n"  # an HTTP/1.0 client that asked to keep the connection
CLOSE: Final = b"Connection: close\r\n"  # an HTTP/1.1 client that asked to close it
FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # in a header: aiohttp's rule (RFC 9110 5.5)


class Head:
    """A status and its headers, rendered once; each answer adds its length, the date and ``Connection``."""

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        if status in EMPTY_BODY_STATUS_CODES or hdrs.CONTENT_LENGTH in headers:
            raise ValueError(f"a head for answers with a body and no set length, not {status}")
        if hdrs.CONTENT_TYPE not in headers or hdrs.SERVER not in headers:  # aiohttp would add its own
            raise ValueError("a head names its content type and server")
        for text in (*headers.keys(), *headers.values()):
            if FORBIDDEN.search(text):  # as aiohttp refuses them: a line break would split the head
                raise ValueError(f"a head with a control character in a header: {text!r}")
        self.status = status
        self.reason = REASON_PHRASES.get(status, "")
        self.headers = dict(headers)
        self._lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        self._starts: dict[HttpVersion, bytes] = {}
        self._date = ("", b"")  # aiohttp's formatted time (the same object for a second) and its line

    def render(self, version: HttpVersion, keep_alive: bool, body: bytes, *, with_body: bool = True) -> bytes:
        start = self._starts.get(version)
        if start is None:
            start = self._starts[version] = (
                f"HTTP/{version.major}.{version.minor} {self.status} {self.reason}\r\n".encode() + self._lines
            )
        now = rfc822_formatted_time()
        if now is not self._date[0]:
            self._date = (now, f"Date: {now}\r\n".encode())
        if keep_alive:
            connection = KEEP_ALIVE if version == HttpVersion10 else b""
        else:
            connection = CLOSE if version == HttpVersion11 else b""
        # as aiohttp: an empty answer to a HEAD says no length (nor zero: a HEAD stands for a GET)
        length = b"Content-Length: %d\r\n" % len(body) if body or with_body else b""
        return b"".join((start, length, self._date[1], connection, b"\r\n", body if with_body else b""))


class WireResponse(web.StreamResponse):
    """A complete answer: a :class:`Head` and a body, written by ``prepare()`` in one transport write."""

    def __init__(self, head: Head, body: bytes) -> None:
        # Not StreamResponse.__init__: it builds the header dict this class exists not to build. What the
        # server and the guard read of a response (status, reason, keep_alive, prepared) is set here.
        self._head = head
        self._content = body
        self._status = head.status
        self._reason = head.reason
        self._state = {}

    @property
    def headers(self) -> CIMultiDict[str]:
        """A copy of the answer's own headers (those of each answer on the wire are added when it is sent)."""
        return CIMultiDict(self._head.headers)

    @property
    def body(self) -> bytes:
        return self._content

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client has gone")  # aiohttp's server takes it as a hang-up
        keep_alive = self._keep_alive
        if keep_alive is None:  # as aiohttp: the client's wish, unless force_close() said otherwise
            keep_alive = self._keep_alive = request.keep_alive
        body = self._content
        with_body = request.method != hdrs.METH_HEAD
        transport.write(self._head.render(request.version, keep_alive, body, with_body=with_body))
        self._eof_sent = True
        self._body_length = len(body) if with_body else 0
        await request.writer.drain()  # nothing to wait for unless the client is not reading
        return None
