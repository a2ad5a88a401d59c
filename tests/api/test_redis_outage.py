"""Redis stops under a running API and comes back: answers never stop, the limit falls back and recovers.

Uses a real ``redis-server`` started on a free port for this test only, so stopping it disturbs nobody.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from worker.api.app import LIMITER, create_app
from worker.service.resources import open_engine, open_redis
from worker.settings import HttpSettings, RedisSettings, Settings

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not os.environ.get("CI"),
    reason="redis-server is not on PATH (CI installs it)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", *options, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        assert self.process.stdout is not None
        async for line in self.process.stdout:  # the server says when it accepts connections
            if b"Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server on port {self.port} exited with {await self.process.wait()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.communicate()
        self.process = None


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    await server.start()
    yield server
    await server.stop()


async def answers(client: Any, foreign: str) -> tuple[int, int, str]:
    """A Russian v1 answer (in-process data) and a foreign v2 one (through the Redis answer cache)."""
    v1 = await client.get("/get/?num=74959898533")
    v2 = await client.get(f"/get/v2/?num={foreign}")
    return v1.status, v2.status, json.loads(await v2.text())["destination"]


async def health(client: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(await (await client.get("/health")).text())
    return body


async def test_api_survives_redis_going_away_and_picks_it_up_again(
    redis_server: RedisServer, data_dir: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(
        data_dir=data_dir,
        redis=RedisSettings(url=f"redis://127.0.0.1:{redis_server.port}/0", timeout=0.5, cache=True),
        http=HttpSettings(rate_limit=1000, rate_limit_exempt=[]),  # counted, though the client is on loopback
    )
    async with open_redis(settings) as redis, open_engine(settings, redis, follow_updates=False) as engine:
        assert redis is not None
        client = await aiohttp_client(create_app(settings, engine, redis=redis))
        limiter = client.app[LIMITER]
        limiter.retry_interval = 0  # retry Redis on the next request, so recovery needs no waiting
        assert await answers(client, "358181201235") == (200, 200, "Aland Islands")
        assert await redis.keys("{numlookup:rate:*}:*")
        assert await redis.keys("numlookup:answer:*")
        assert (await health(client))["redis"] == {"configured": True, "reachable": True}

        await redis_server.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await answers(client, "004930123456") == (200, 200, "Germany")
        print(f"first answers without Redis took {loop.time() - started:.3f} s")
        assert loop.time() - started < 2 * settings.redis.timeout
        assert limiter.failing
        body = await health(client)
        assert (body["status"], body["redis"]) == ("degraded", {"configured": True, "reachable": False})
        assert "rate limit: Redis unavailable" in caplog.text
        assert "answer cache unavailable" in caplog.text

        await redis_server.start()  # an empty server on the same port, as after a restart
        assert await answers(client, "442071234567") == (200, 200, "United Kingdom")
        assert not limiter.failing
        assert "Redis reachable again" in caplog.text
        assert await redis.keys("{numlookup:rate:*}:*")  # counting across replicas again
        assert await redis.keys("numlookup:answer:*")  # sharing answers again
        body = await health(client)
        assert (body["status"], body["redis"]) == ("ok", {"configured": True, "reachable": True})
