"""The lookups' direct route (``worker.api.app.request_handler``) answers exactly what the router answers.

The API as it runs sends a ``GET`` of ``/get/``, ``/get``, ``/get/v2/`` and ``/get/v2`` straight to its view;
the test client, like any plain ``AppRunner``, takes the router for every request. The same raw requests go
to both, and status, headers (but ``Date``) and body must be the same, byte for byte: found, ported, not
in the registry, foreign, malformed, ``field=``, ``HEAD``, ``Expect``, other methods, escaped and near-miss
paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.api.conftest import make_settings
from worker.api.app import DIRECT, LOOKUP_PATHS, create_app, request_handler
from worker.api.site import api_site
from worker.lookup.engine import LookupEngine

REQUESTS = [
    "GET /get/?num=79170415564",  # found
    "GET /get/?num=79261234567",  # ported: old_operator, X-Numlookup-Source: mnp
    "GET /get/?num=79990000000",  # Russian, in no range: 404
    "GET /get/?num=358181201235",  # foreign: v1's 404 that points at v2
    "GET /get/?num=12",  # malformed
    "GET /get/?num=799999999999999999999",  # too many digits
    "GET /get?num=79170415564",
    "GET /get/?num=79170415564&field=operator",
    "GET /get/?num=%2B79170415564",
    "GET /get/",  # no num
    "GET /get/v2/?num=79170415564",
    "GET /get/v2?num=358181201235",
    "GET /get/v2/?num=abc",
    "HEAD /get/?num=79170415564",
    "POST /get/?num=79170415564",  # 405 with Allow
    "GET /g%65t/?num=79170415564",  # the router decodes the path: still v1
    "GET /get//?num=79170415564",
    "GET /GET/?num=79170415564",
    "GET /get/v2/x?num=79170415564",
]


async def exchange(port: int, request: str, headers: str = "") -> tuple[str, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{request} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    fields = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    fields.pop("date")
    return status, fields, body


@pytest.fixture
async def ports(engine: LookupEngine, data_dir: Path) -> AsyncIterator[tuple[int, int]]:
    """(the API as it runs, the same app behind aiohttp's plain runner)"""
    settings = make_settings(data_dir, port=0)
    routed = web.AppRunner(create_app(settings, engine), access_log=None)
    await routed.setup()
    site = web.TCPSite(routed, "127.0.0.1", 0)
    await site.start()
    try:
        async with api_site(settings, engine, None) as direct:
            yield direct.addresses[0][1], routed.addresses[0][1]
    finally:
        await routed.cleanup()


@pytest.mark.parametrize("request_line", REQUESTS)
async def test_the_direct_route_answers_what_the_router_answers(
    ports: tuple[int, int], request_line: str
) -> None:
    direct, routed = ports
    assert await exchange(direct, request_line) == await exchange(routed, request_line)


async def test_expect_takes_the_router_and_is_answered_alike(ports: tuple[int, int]) -> None:
    direct, routed = ports
    expect = "Expect: something-else\r\n"
    answer = await exchange(direct, "GET /get/?num=79170415564", expect)
    assert answer == await exchange(routed, "GET /get/?num=79170415564", expect)
    assert answer[0].split()[1] == "417"


async def test_only_the_lookups_go_direct(engine: LookupEngine, data_dir: Path) -> None:
    app = create_app(make_settings(data_dir), engine)
    assert set(app[DIRECT]) == LOOKUP_PATHS
    assert callable(request_handler(app))
