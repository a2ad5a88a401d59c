"""A :class:`worker.api.wire.WireResponse` writes what aiohttp's ``web.Response`` would, byte for byte.

One real server answers each path twice, once through ``web.Response`` and once through a ``WireResponse``
of the same status, headers and body; raw requests (HTTP/1.1 and 1.0, keep-alive or close, ``HEAD``,
pipelined) must get the same bytes but for the ``Date`` value, and the connection must stay open or close
alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.http import HttpVersion11

from worker.answer.model import MNP
from worker.answer.voxlink import JSON, TEXT
from worker.api.replies import HEADERS, SOURCED
from worker.api.wire import Head, WireResponse

# (status, headers, body): what the lookups answer, and the edges (an empty body, a status without a phrase)
ANSWERS: dict[str, tuple[int, Any, bytes]] = {
    "found": (200, SOURCED[JSON, MNP], '{"num": "9170415564", "operator": "МТС"}'.encode()),
    "missing": (404, HEADERS[JSON], '{"info": "Номер не найден"}'.encode()),
    "unloaded": (503, HEADERS[JSON], b'{"info": "no data"}'),
    "field": (200, HEADERS[TEXT], "МТС".encode()),
    "empty": (200, HEADERS[TEXT], b""),
    "unnamed status": (299, HEADERS[JSON], b"{}"),
}
REQUESTS = {
    "1.1": "GET /{} HTTP/1.1\r\nHost: t\r\n\r\n",
    "1.1 close": "GET /{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "1.0": "GET /{} HTTP/1.0\r\n\r\n",
    "1.0 keep-alive": "GET /{} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "HEAD": "HEAD /{} HTTP/1.1\r\nHost: t\r\n\r\n",
    "HEAD 1.0": "HEAD /{} HTTP/1.0\r\n\r\n",
}
DATE = re.compile(rb"\r\nDate: [^\r]+\r\n")


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = web.Application()
    for name, (status, headers, body) in ANSWERS.items():
        path = name.replace(" ", "-")

        async def aiohttp_answer(
            request: web.Request, answer: tuple[int, Any, bytes] = (status, headers, body)
        ) -> web.StreamResponse:
            return web.Response(status=answer[0], headers=answer[1], body=answer[2])

        async def wire_answer(
            request: web.Request, answer: tuple[int, Any, bytes] = (status, headers, body)
        ) -> web.StreamResponse:
            return WireResponse(Head(answer[0], answer[1]), answer[2])

        app.router.add_get(f"/aiohttp/{path}", aiohttp_answer)
        app.router.add_get(f"/wire/{path}", wire_answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def exchange(port: int, raw: bytes, answers: int = 1) -> tuple[bytes, bool]:
    """What the server sends for ``raw``, and whether it then closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    received = b""
    for _ in range(answers):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
        body = b""
        if length is not None and not raw.startswith(b"HEAD"):
            body = await asyncio.wait_for(reader.readexactly(int(length[1])), 5)
        received += head + body
    try:
        closed = await asyncio.wait_for(reader.read(1), 0.2) == b""
    except TimeoutError:
        closed = False
    writer.close()
    return DATE.sub(b"\r\nDate: *\r\n", received), closed


@pytest.mark.parametrize("request_form", REQUESTS)
@pytest.mark.parametrize("answer", ANSWERS)
async def test_a_wire_response_is_what_aiohttp_writes(port: int, answer: str, request_form: str) -> None:
    path = answer.replace(" ", "-")
    request = REQUESTS[request_form]
    expected = await exchange(port, request.format(f"aiohttp/{path}").encode())
    assert expected[0].startswith(b"HTTP/1.")  # the comparison is of answers, not of two errors
    assert await exchange(port, request.format(f"wire/{path}").encode()) == expected


async def test_pipelined_requests_get_their_answers_in_order(port: int) -> None:
    raw = "".join(
        REQUESTS["1.1"].format(f"{side}/{name}")
        for side in ("wire", "aiohttp")
        for name in ("found", "missing")
    )
    received, closed = await exchange(port, raw.encode(), answers=4)
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"200 OK", b"404 Not Found"] * 2
    assert answers[:2] == answers[2:]
    assert not closed


async def test_a_client_that_does_not_read_is_not_buffered_for() -> None:
    """Pipelined requests whose answers are never read: the server stops reading, it does not keep answering
    into its buffer (as with aiohttp's own writer, which waits after each answer while the buffer is full)."""
    body = b"x" * 10_000

    async def big(request: web.Request) -> web.StreamResponse:
        return WireResponse(Head(200, HEADERS[JSON]), body)

    app = web.Application()
    app.router.add_get("/big", big)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    loop = asyncio.get_running_loop()
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.setblocking(False)
        await loop.sock_connect(client, ("127.0.0.1", runner.addresses[0][1]))
        requests = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n" * 5_000  # 50 MB of answers
        with contextlib.suppress(TimeoutError):  # the server stopped reading: what this test wants
            await asyncio.wait_for(loop.sock_sendall(client, requests), 3)
        await asyncio.sleep(0.5)
        assert runner.server is not None
        (connection,) = runner.server.connections
        assert connection.transport is not None
        assert connection.transport.get_write_buffer_size() < 1_000_000
    await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (204, HEADERS[JSON]),  # no body allowed: aiohttp's rules for those are not rendered here
        (304, HEADERS[JSON]),
        (200, {**HEADERS[JSON], "Content-Length": "3"}),
        (200, {"Server": "numlookup"}),  # no content type: aiohttp would add its own
        (200, {"Content-Type": "application/json"}),  # no server: aiohttp would name itself
        (200, {**HEADERS[JSON], "X-Echo": "a\r\nSet-Cookie: b"}),
        (200, {**HEADERS[JSON], "X-Echo": "a\x00b"}),
    ],
)
def test_a_head_refuses_what_it_cannot_render_as_aiohttp_would(status: int, headers: Any) -> None:
    with pytest.raises(ValueError, match="a head"):
        Head(status, headers)


def test_headers_are_a_copy_that_cannot_change_the_answer() -> None:
    head = Head(200, HEADERS[JSON])
    response = WireResponse(head, b"{}")
    response.headers["Retry-After"] = "1"
    assert "Retry-After" not in response.headers
    assert b"Retry-After" not in head.render(HttpVersion11, True, b"{}")
    assert (response.status, response.reason, response.body) == (200, "OK", b"{}")


@pytest.mark.parametrize("transport", [None, SimpleNamespace(is_closing=lambda: True)])
async def test_a_client_that_has_gone_is_a_connection_error(transport: object) -> None:
    """aiohttp's server takes a ConnectionError from ``prepare()`` as a hang-up, not as a failure."""
    request = SimpleNamespace(transport=transport, keep_alive=True, method="GET", version=HttpVersion11)
    response = WireResponse(Head(200, HEADERS[JSON]), b"{}")
    with pytest.raises(ConnectionResetError):
        await response.prepare(request)  # type: ignore[arg-type]
    assert not response.prepared
