"""API fixtures: settings on the small dataset, a real aiohttp server around ``create_app``, raw HTTP, Redis.

The ``redis`` fixture is the shared one (fakeredis and a real server), except that the real server is a
``redis-server`` of this test session's own: the shared one at 127.0.0.1:6379/15 is flushed by every other
worktree's tests, and rate-limit counts must not vanish mid-test.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.api.browser import Browser, chromium
from tests.api.pages import layered
from tests.conftest import REAL_REDIS_URL
from worker.api.app import create_app
from worker.lookup.engine import LookupEngine
from worker.settings import HttpSettings, Settings

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]
Serve = Callable[..., Awaitable[Client]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def private_redis_url() -> Iterator[str]:
    """A ``redis-server`` for this session only; the shared server when redis-server is not installed."""
    if shutil.which("redis-server") is None:
        yield REAL_REDIS_URL
        return
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(["redis-server", *options], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    for line in server.stdout:  # the server says when it accepts connections
        if "Ready to accept connections" in line:
            break
    else:
        raise RuntimeError(f"redis-server exited with {server.wait()}")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.communicate()


@pytest.fixture(params=["fakeredis", "real"])
async def redis(request: pytest.FixtureRequest, private_redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = (
        fakeredis.FakeAsyncRedis() if request.param == "fakeredis" else Redis.from_url(private_redis_url)
    )
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def make_settings(data_dir: Path, **http: Any) -> Settings:
    # No exempt networks unless given: the test client connects from loopback, which is exempt by default.
    return Settings(
        data_dir=data_dir, http=HttpSettings(**{"rate_limit": 0, "rate_limit_exempt": [], **http})
    )


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


@pytest.fixture
async def serve(aiohttp_client: Any, engine: LookupEngine, data_dir: Path) -> Serve:
    """The real app on a real port; ``layer="extras"|"bare"`` adds or removes the other issues' fields."""

    async def build(
        layer: str | None = None, *, engine_: LookupEngine | None = None, redis: Any = None, **http: Any
    ) -> Client:
        app = create_app(make_settings(data_dir, **http), engine_ or engine, redis=redis)
        if layer is not None:
            app.middlewares.append(layered(layer == "extras"))
        client: Client = await aiohttp_client(app)
        return client

    return build


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(tmp_path / "profile") as running:
        yield running
        # no script error, refused resource or CSP violation in any page of the test
        assert [error for tab in running.tabs for error in tab.errors] == []
