"""API fixtures: settings on the small dataset, a real aiohttp server around ``create_app``, raw HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from worker.api import create_app
from worker.engine import LookupEngine
from worker.settings import HttpSettings, Settings

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


def make_settings(data_dir: Path, **http: Any) -> Settings:
    return Settings(data_dir=data_dir, http=HttpSettings(**{"rate_limit": 0, **http}))


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
async def make_client(aiohttp_client: Any, engine: LookupEngine, data_dir: Path) -> MakeClient:
    """A client for an app built with the given HTTP settings (rate limit off unless given)."""

    async def build(
        engine_: LookupEngine | None = None, redis: Any = None, ami_state: Any = None, **http: Any
    ) -> Client:
        app = create_app(make_settings(data_dir, **http), engine_ or engine, redis=redis, ami_state=ami_state)
        client: Client = await aiohttp_client(app)
        return client

    return build


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


async def raw_request(
    client: Client, request_line: str, headers: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """Send bytes exactly as written (an unencoded ``+``, broken escapes) and read the whole answer."""
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(f"{request_line}\r\nHost: test\r\n{headers}Connection: close\r\n\r\n".encode("latin-1"))
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return status, {name.lower(): value for name, value in fields.items()}, body
