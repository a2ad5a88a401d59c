"""Two ``numlookup api`` processes and one ``numlookup worker`` sharing one real Redis: one cache and one
budget. A number asked on all three reaches the upstream once; a flood of new numbers reaches it no faster
than its budget (counted at the fake: wrk drives both APIs, events the worker), and every caller is answered
within the deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.ami.fake_asterisk import FakeAsterisk
from tests.conftest import REAL_REDIS_URL, real_redis
from tests.upstream.fake_voxlink import FakeVoxlink
from tests.upstream.processes import free_port, numlookup

DEADLINE = 0.3
RATE = 8  # the voxlink default, below its 10/s


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test's own on the real server; its keys are deleted after."""
    client = await real_redis()
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
        numlookup(data_dir, "api", "--workers", "1", "--port", str(ports[0]), env=env, ready=ready),
        numlookup(data_dir, "api", "--workers", "1", "--port", str(ports[1]), env=env, ready=ready),
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


# wrk: each thread cycles through 20,000 random numbers of the small dataset's МТС range (all mobile, all new)
WRK_SCRIPT = """
local pool = {}
local next_index = 1
function init(args)
  math.randomseed(tonumber(args[1]))
  for i = 1, 20000 do
    pool[i] = wrk.format("GET", string.format("/get/?num=79170%06d", math.random(0, 999999)))
  end
end
function request()
  local item = pool[next_index]
  next_index = next_index % #pool + 1
  return item
end
"""
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


async def wrk(
    port: int, seconds: float, connections: int, script: Path, seed: int
) -> tuple[int, float, float]:
    """(requests, non-2xx answers, slowest answer in seconds) of one wrk run against ``port``."""
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script),
        f"http://127.0.0.1:{port}/", "--", str(seed), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output = (await process.communicate())[0].decode()
    requests = re.search(r"(\d+) requests in", output)
    latency = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    assert requests, output
    assert latency, output
    return int(requests[1]), float(errors[1]) if errors else 0.0, float(latency[1]) * UNITS[latency[2]]


@pytest.mark.skipif(shutil.which("wrk") is None and not os.environ.get("CI"), reason="wrk is not installed")
async def test_a_flood_of_new_numbers_stays_within_the_budget_and_the_deadline(
    data_dir: Path, voxlink: FakeVoxlink, asterisk: FakeAsterisk, prefix: str, tmp_path: Path
) -> None:
    """wrk floods both API processes with new numbers while AMI events go to the worker."""
    voxlink.mode, voxlink.delay = "slow", 0.05  # a realistic upstream: tens of milliseconds an answer
    seconds = 4.0
    script = tmp_path / "flood.lua"
    script.write_text(WRK_SCRIPT)
    ami_latencies: list[float] = []
    async with three_processes(data_dir, voxlink, asterisk, prefix) as ports:
        started = time.monotonic()

        async def ami_caller() -> None:
            sequence = 0
            while time.monotonic() - started < seconds:
                sequence += 1
                uniqueid = f"1795872000.{sequence}"
                sent = time.monotonic()
                values = await ami_answer(asterisk, uniqueid, f"7926{1_000_000 + sequence:07d}")
                assert values["NUM_STATUS"] == "OK"
                ami_latencies.append(time.monotonic() - sent)

        runs = await asyncio.gather(
            wrk(ports[0], seconds, 32, script, 1), wrk(ports[1], seconds, 32, script, 2), ami_caller()
        )
        elapsed = time.monotonic() - started
    http = [run for run in runs if run is not None]
    lookups = sum(requests for requests, _, _ in http) + len(ami_latencies)
    slowest = max([latency for _, _, latency in http] + ami_latencies)
    print(
        f"{lookups} lookups in {elapsed:.1f} s ({lookups / elapsed:.0f}/s), slowest {slowest * 1000:.0f} ms"
    )
    assert [errors for _, errors, _ in http] == [0, 0]
    assert len(ami_latencies) > 0
    assert voxlink.answered[429] == 0
    during = [moment for moment in voxlink.times if moment <= started + elapsed]
    assert len(during) <= RATE * elapsed + 2  # the shared bucket: rate a second, plus one in hand
    # every caller answered within the deadline (plus slack for a shared, loaded 2-core machine)
    assert slowest < DEADLINE + 1.0
