"""Two ``numlookup api`` processes and one ``numlookup worker`` sharing one real Redis: one cache and one
budget. A number asked on all three reaches the upstream once; a flood of new numbers reaches it no faster
than its budget (counted at the fake), and every caller is answered within the deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.ami.fake_asterisk import FakeAsterisk
from tests.conftest import REAL_REDIS_URL
from tests.upstream.fake_voxlink import FakeVoxlink
from tests.upstream.processes import free_port, numlookup

DEADLINE = 0.3
RATE = 8  # the voxlink default, below its 10/s


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test's own on the real server; its keys are deleted after."""
    client = Redis.from_url(REAL_REDIS_URL)
    try:
        await client.ping()
    except OSError as error:
        await client.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REAL_REDIS_URL}: {error}")
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    keys = [key async for key in client.scan_iter(f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@contextlib.asynccontextmanager
async def three_processes(
    data_dir: Path, voxlink: FakeVoxlink, asterisk: FakeAsterisk, prefix: str, *, burst: int = 1
) -> AsyncIterator[list[int]]:
    """API on two ports and an AMI worker logged into ``asterisk``; yields the two API ports."""
    env = {
        "NUMLOOKUP_REDIS__URL": REAL_REDIS_URL,
        "NUMLOOKUP_REDIS__PREFIX": prefix,
        "NUMLOOKUP_UPSTREAMS": json.dumps(
            [{"kind": "voxlink", "url": voxlink.url, "rate": RATE, "burst": burst}]
        ),
        "NUMLOOKUP_UPSTREAM__DEADLINE": str(DEADLINE),
        "NUMLOOKUP_UPSTREAM__AMI_DEADLINE": str(DEADLINE),
    }
    worker_env = {
        **env,
        "NUMLOOKUP_AMI__HOST": "127.0.0.1",
        "NUMLOOKUP_AMI__PORT": str(asterisk.port),
        "NUMLOOKUP_AMI__USERNAME": "worker",
        "NUMLOOKUP_AMI__SECRET": "worker-secret",
        "NUMLOOKUP_FASTAGI__ENABLED": "false",
    }
    ports = [free_port(), free_port()]
    ready = "API listening on"
    async with (
        numlookup(data_dir, "api", "--port", str(ports[0]), env=env, ready=ready),
        numlookup(data_dir, "api", "--port", str(ports[1]), env=env, ready=ready),
        numlookup(data_dir, "worker", env=worker_env, ready="serving dataset"),
    ):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        yield ports


async def ami_answer(asterisk: FakeAsterisk, uniqueid: str, number: str) -> dict[str, str]:
    await asterisk.user_event(uniqueid, number)
    await asterisk.wait(lambda: asterisk.status_of(uniqueid) != [])
    return dict(asterisk.setvars(uniqueid))


async def test_a_number_asked_on_three_processes_reaches_the_upstream_once(
    data_dir: Path, voxlink: FakeVoxlink, asterisk: FakeAsterisk, prefix: str
) -> None:
    async with (
        three_processes(data_dir, voxlink, asterisk, prefix, burst=5) as ports,  # two numbers, quickly
        aiohttp.ClientSession() as session,
    ):

        async def http(port: int, number: str) -> tuple[str, str]:
            async with session.get(f"http://127.0.0.1:{port}/get/?num={number}") as response:
                return (await response.json())["operator"], response.headers["X-Numlookup-Source"]

        assert await http(ports[0], "79170000123") == ("МегаФон", "upstream")
        assert await http(ports[1], "79170000123") == ("МегаФон", "cache")
        values = await ami_answer(asterisk, "1795871900.1", "79170000123")
        assert (values["NUM_OPERATOR"], values["NUM_SOURCE"], values["NUM_STATUS"]) == (
            "МегаФон",
            "cache",
            "OK",
        )

        # all three at once: the claim in Redis makes it one request too
        together = await asyncio.gather(
            http(ports[0], "79000000000"),
            http(ports[1], "79000000000"),
            ami_answer(asterisk, "1795871900.2", "79000000000"),
        )
        assert together[0][0] == together[1][0] == together[2]["NUM_OPERATOR"] == "МТС"
    assert voxlink.requests == {"79170000123": 1, "79000000000": 1}


async def test_a_flood_of_new_numbers_stays_within_the_budget_and_the_deadline(
    data_dir: Path, voxlink: FakeVoxlink, asterisk: FakeAsterisk, prefix: str
) -> None:
    voxlink.mode, voxlink.delay = "slow", 0.05  # a realistic upstream: tens of milliseconds an answer
    seconds, connections = 3.0, 64
    latencies: list[float] = []
    async with (
        three_processes(data_dir, voxlink, asterisk, prefix) as ports,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session,
    ):
        counter = iter(range(10_000_000))
        started = time.monotonic()

        async def caller(port: int) -> None:
            while time.monotonic() - started < seconds:
                number = f"7917{next(counter):07d}"
                sent = time.monotonic()
                async with session.get(f"http://127.0.0.1:{port}/get/?num={number}") as response:
                    assert response.status == 200
                    await response.read()
                latencies.append(time.monotonic() - sent)

        async def ami_caller() -> None:
            sequence = 0
            while time.monotonic() - started < seconds:
                sequence += 1
                uniqueid = f"1795872000.{sequence}"
                sent = time.monotonic()
                values = await ami_answer(asterisk, uniqueid, f"7926{next(counter):07d}")
                assert values["NUM_STATUS"] == "OK"
                latencies.append(time.monotonic() - sent)

        await asyncio.gather(*(caller(ports[n % 2]) for n in range(connections)), ami_caller())
        elapsed = time.monotonic() - started

    rate = len(latencies) / elapsed
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    p50 = latencies[len(latencies) // 2]
    print(
        f"{len(latencies)} lookups, {rate:.0f}/s; p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms", end=" "
    )
    print(f"max {latencies[-1] * 1000:.0f} ms")
    assert voxlink.answered[429] == 0
    during = [moment for moment in voxlink.times if moment <= started + elapsed]
    assert len(during) <= RATE * elapsed + 2  # the shared bucket: rate a second, plus one in hand
    # every caller answered within the deadline (plus slack for a shared, loaded 2-core machine)
    assert latencies[-1] < DEADLINE + 1.0
