"""Slow and broken clients against the API as it runs (``api_site``: the real runner on a real socket).

Trickled heads and bodies are cut off, oversize is refused before it is sent, a client hanging up is no error
of ours, and what aiohttp's parser refuses gets the JSON error shape.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import make_settings
from worker.api.protocol import HeadSweeper
from worker.api.site import api_site
from worker.lookup.engine import LookupEngine

TIMEOUT = 0.5  # the test's header and body timeouts


@pytest.fixture
async def port(engine: LookupEngine, data_dir: Path) -> AsyncIterator[int]:
    settings = make_settings(data_dir, port=0, header_timeout=TIMEOUT, body_timeout=TIMEOUT)
    async with api_site(settings, engine, None) as runner:
        yield runner.addresses[0][1]


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 5)
    return int(lines[0].split()[1]), headers, body


async def test_a_trickled_head_is_cut_off_with_a_408(port: int) -> None:
    reader, writer = await connect(port)
    started = time.monotonic()
    writer.write(b"GET /get/?num=79170415564 HTTP/1.1\r\nHost: test\r\n")
    response = asyncio.ensure_future(read_response(reader))
    for _ in range(40):  # one header byte every 0.1 s, never finishing the head
        await asyncio.wait([response], timeout=0.1)
        if response.done():
            break
        writer.write(b"X")
    status, headers, body = await response
    assert status == 408
    assert json.loads(body) == {"info": f"Request Timeout: no complete request head within {TIMEOUT:g} s"}
    assert headers["connection"] == "close"
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    assert time.monotonic() - started < 4 * TIMEOUT
    writer.close()


async def test_an_idle_keep_alive_connection_is_not_a_slow_head(port: int) -> None:
    reader, writer = await connect(port)
    for _ in range(2):
        writer.write(b"GET /get/?num=79170415564 HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _, body = await read_response(reader)
        assert status == 200
        assert json.loads(body)["operator"] == "МТС"
        await asyncio.sleep(3 * TIMEOUT)  # idle between requests: aiohttp's keep-alive, not the head clock
    writer.close()


async def test_a_head_trickled_after_quick_requests_is_cut_off_too(port: int) -> None:
    """The head clock restarts with each request's first byte, on a connection that already answered."""
    reader, writer = await connect(port)
    for _ in range(20):
        writer.write(b"GET /get/?num=79170415564 HTTP/1.1\r\nHost: test\r\n\r\n")
        assert (await read_response(reader))[0] == 200
    started = time.monotonic()
    writer.write(b"GET /get/?num=79170415564 HTTP/1.1\r\n")
    response = asyncio.ensure_future(read_response(reader))
    while not response.done():
        await asyncio.wait([response], timeout=0.1)
        writer.write(b"X")
    assert (await response)[0] == 408
    assert TIMEOUT <= time.monotonic() - started < 4 * TIMEOUT
    writer.close()


async def test_a_slow_body_is_no_slow_head(engine: LookupEngine, data_dir: Path) -> None:
    """Body bytes arriving after a complete head do not start the head clock (the body has its own)."""
    settings = make_settings(data_dir, port=0, header_timeout=0.3, body_timeout=5)
    async with api_site(settings, engine, None) as runner:
        reader, writer = await connect(runner.addresses[0][1])
        body = b'["79170415564", "79261234567"]'
        writer.write(
            b"POST /get/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for part in (body[:5], body[5:20], body[20:]):  # over 0.9 s: three times the head's timeout
            await asyncio.sleep(0.3)
            writer.write(part)
        status, _, answer = await read_response(reader)
        assert status == 200
        assert [item["operator"] for item in json.loads(answer)] == ["МТС", "МТС"]
        writer.close()


async def test_the_sweeper_ticks_only_while_there_are_connections() -> None:
    loop = asyncio.get_running_loop()
    sweeper = HeadSweeper(loop, header_timeout=0.2)

    class Connection:
        head_since: float | None = loop.time()
        cut = 0

        def head_too_slow(self) -> None:
            self.head_since = None
            self.cut += 1

    slow, idle = Connection(), Connection()
    idle.head_since = None
    for connection in (slow, idle):
        sweeper.add(connection)  # type: ignore[arg-type]  # only head_since and head_too_slow are used
    await asyncio.sleep(0.4)
    assert (slow.cut, idle.cut) == (1, 0)
    for connection in (slow, idle):
        sweeper.discard(connection)  # type: ignore[arg-type]
    await asyncio.sleep(0.15)
    assert sweeper._timer is None


async def test_expect_100_continue_with_a_huge_body_is_refused_before_it_is_sent(port: int) -> None:
    reader, writer = await connect(port)
    writer.write(
        b"POST /get/v2/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n"
    )
    status, _, body = await read_response(reader)
    assert status == 413  # not "100 Continue"
    assert json.loads(body)["info"].startswith("Request Entity Too Large: 1,000,000,000 bytes, the limit is")
    writer.close()
    reader, writer = await connect(port)  # a small body still gets its 100 Continue and its answer
    payload = b'["79170415564"]'
    writer.write(
        b"POST /get/v2/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(payload)
    status, _, body = await read_response(reader)
    assert (status, json.loads(body)[0]["registrar"]) == (200, "MTS")
    writer.close()


async def test_a_trickled_body_is_cut_off_with_a_408(port: int) -> None:
    reader, writer = await connect(port)
    writer.write(
        b"POST /get/v2/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n["
    )
    status, _, body = await read_response(reader)
    assert status == 408
    assert json.loads(body)["info"] == f"Request Timeout: the body took longer than {TIMEOUT:g} s"
    writer.close()


async def test_a_client_hanging_up_mid_upload_is_no_error(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        reader, writer = await connect(port)
        writer.write(
            b"POST /get/v2/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n[" + b'"79170415564",' * 100
        )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # the client goes away mid-upload
    reader, writer = await connect(port)
    metrics = ""
    for _ in range(50):  # until the server has seen all three go
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        metrics = (await read_response(reader))[2].decode()
        if 'route="v2_batch",status="499"} 3.0' in metrics:
            break
        await asyncio.sleep(0.05)
    writer.close()
    assert 'route="v2_batch",status="499"} 3.0' in metrics
    assert 'status="5' not in metrics
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_100_kb_query_string_is_a_json_414(port: int) -> None:
    reader, writer = await connect(port)
    writer.write(b"GET /get/?num=" + b"7" * 100_000 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
    status, headers, body = await read_response(reader)
    assert status == 414
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body)["info"].startswith("Request-URI Too Long")
    writer.close()
    reader, writer = await connect(port)
    writer.write(b"GET /get/?num=1 HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    status, _, body = await read_response(reader)
    assert status == 431
    assert json.loads(body)["info"].startswith("Request Header Fields Too Large")
    writer.close()
