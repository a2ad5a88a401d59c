"""Redis under Sentinel: ``SENTINEL FAILOVER`` while two API processes and two AMI worker processes are
under load. No answer fails; the shared rate limit, the once-only claims and push reloads work again on the
new master, each within seconds (the test prints how soon); each process says once that the master moved."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from tests.ami.fake_asterisk import FakeAsterisk
from tests.conftest import build_small_dataset
from tests.ha.topology import SERVICE, SentinelSetup, free_port, needs_redis_binaries, sentinel_setup, until
from worker.data.dataset import redis_store
from worker.data.dataset.store import LocalStore
from worker.service.resources import open_redis
from worker.settings import RedisSettings, Settings

pytestmark = needs_redis_binaries

REPO = Path(__file__).resolve().parents[2]
RATE = 50  # requests per second per client address, in every API process
RUSSIAN, FOREIGN = "74959898533", "358181201235"
RECOVERY = 10.0  # seconds within which each shared function must work again (it takes about one)


@dataclass
class Load:
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def service_env(setup: SentinelSetup) -> dict[str, str]:
    return {
        **os.environ,
        "NUMLOOKUP_REDIS__URL": "",
        "NUMLOOKUP_REDIS__SENTINELS": json.dumps(setup.addresses()),
        "NUMLOOKUP_REDIS__SERVICE": SERVICE,
        "NUMLOOKUP_REDIS__CACHE": "true",
        "NUMLOOKUP_HTTP__RATE_LIMIT": str(RATE),
        "NUMLOOKUP_HTTP__TRUSTED_PROXIES": '["127.0.0.1"]',  # the load names its clients in X-Forwarded-For
        "NUMLOOKUP_DATA__RELOAD_INTERVAL": "60",  # a new version must arrive by push, not by a poll
        "NUMLOOKUP_AMI__RECONNECT_MIN": "0.05",
        "NUMLOOKUP_AMI__RECONNECT_MAX": "0.2",
        "NUMLOOKUP_FASTAGI__ENABLED": "false",
    }


@contextlib.asynccontextmanager
async def numlookup(root: Path, name: str, env: dict[str, str], *args: str) -> AsyncIterator[Path]:
    """``python -m worker ARGS`` with its own data dir, logging into a file; SIGTERM when the block ends."""
    log = root / f"{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", "--data-dir", str(root / name), *args,
            cwd=REPO, env=env, stdout=output, stderr=output,
        )  # fmt: skip
    try:
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def http_load(port: int, load: Load) -> None:
    """Lookups one after another, each from a client address of its own (never near the limit)."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not load.stop.is_set():
            client = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
            path = random.choice([f"/get/?num={RUSSIAN}", f"/get/v2/?num={FOREIGN}"])
            try:
                async with session.get(
                    f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-For": client}
                ) as response:
                    await response.read()
                    if response.status == 200:
                        load.ok += 1
                    else:
                        load.failed.append(f"{path}: HTTP {response.status}")
            except (aiohttp.ClientError, TimeoutError) as error:
                load.failed.append(f"{path}: {error!r}")


async def limit_is_shared(ports: list[int], client: str, master: int) -> bool | None:
    """2 × 40 requests from one client, split over both API processes inside one window: exactly ``RATE``
    are allowed when they count together in Redis (80 when each counts alone), and the count is on the
    master the sentinels name; ``None`` if a window ended meanwhile."""
    await asyncio.sleep(1.02 - time.time() % 1)  # just after a window opened
    window = int(time.time())
    async with aiohttp.ClientSession() as session:

        async def one(port: int) -> int:
            url = f"http://127.0.0.1:{port}/get/?num={RUSSIAN}"
            async with session.get(url, headers={"X-Forwarded-For": client}) as response:
                await response.read()
                return response.status

        statuses = Counter(await asyncio.gather(*(one(port) for port in ports for _ in range(40))))
    if int(time.time()) != window:
        return None
    assert set(statuses) <= {200, 429}, statuses
    return statuses[200] == RATE and await on(master, f"{{numlookup:rate:{window}}}:{client}") == [b"80"]


async def on(port: int, *keys: str) -> list[bytes | str | None]:
    """The values of ``keys`` on the Redis at ``port``."""
    client = Redis(port=port)
    try:
        return [await client.get(key) for key in keys]
    finally:
        await client.aclose()


def statuses(asterisk: FakeAsterisk) -> Counter[str]:
    """NUM_STATUS values set, counted by channel (each answer sets it once)."""
    return Counter(
        action.get("Channel") or ""
        for action in asterisk.actions
        if action.name == "setvar" and action.get("Variable") == "NUM_STATUS"
    )


async def ami_load(asterisk: FakeAsterisk, load: Load, sent: list[str]) -> None:
    while not load.stop.is_set():
        uniqueid = f"1795873000.{len(sent)}"
        sent.append(uniqueid)
        await asterisk.user_event(uniqueid, "79170415564")
        await asyncio.sleep(0.01)


async def claims_are_exclusive(asterisk: FakeAsterisk, probe: int, master: int) -> bool:
    """Ten events answered once each (two workers share the Asterisk: without claims both answer), claimed
    on the master the sentinels name."""
    ids = [f"1795874{probe:03d}.{n}" for n in range(10)]
    for uniqueid in ids:
        await asterisk.user_event(uniqueid, "79170415564")
    await until(lambda: all(statuses(asterisk)[uniqueid] for uniqueid in ids), within=5)
    await asyncio.sleep(0.2)  # the other worker's answer, if it also answered, has arrived by now
    counts = statuses(asterisk)
    server = f"127.0.0.1:{asterisk.port}"
    claimed = await on(master, *(f"{{numlookup:ami:claim}}:{server}:{uniqueid}" for uniqueid in ids))
    return all(counts[uniqueid] == 1 for uniqueid in ids) and None not in claimed


async def versions(ports: list[int]) -> set[str]:
    async with aiohttp.ClientSession() as session:
        served = set()
        for port in ports:
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                served.add(json.loads(await response.text())["dataset"]["version"])
        return served


async def publish(settings: Settings, store: LocalStore, version: str) -> None:
    scratch = store.scratch()
    build_small_dataset(scratch, version=version)
    directory = store.publish(scratch, version, keep=3)
    async with open_redis(settings, uploads=True) as redis:
        assert redis is not None
        await redis_store.publish(redis, settings.redis.prefix, directory, keep=3)


async def recovered(check: object, started: float) -> float:
    """Seconds from ``started`` until the async ``check()`` is true (``None`` counts as not yet)."""
    async with asyncio.timeout(RECOVERY):
        while not await check():  # type: ignore[operator]
            pass
    return time.monotonic() - started


async def test_a_failover_under_load_fails_no_answer_and_shared_state_resumes(tmp_path: Path) -> None:
    async with sentinel_setup(tmp_path) as setup:
        settings = Settings(redis=RedisSettings(sentinels=setup.addresses(), service=SERVICE))
        importer = LocalStore(tmp_path / "importer")
        await publish(settings, importer, "20990101T000000000001Z")
        asterisk = FakeAsterisk(channels=set())
        await asterisk.start()
        env = service_env(setup)
        ami = json.dumps([{"port": asterisk.port, "username": "worker", "secret": "worker-secret"}])
        ports = [free_port(), free_port()]
        load, sent = Load(), list[str]()
        async with contextlib.AsyncExitStack() as stack:
            logs = [
                await stack.enter_async_context(
                    numlookup(tmp_path, f"api{n}", env, "api", "--port", str(port), "--workers", "1")
                )
                for n, port in enumerate(ports)
            ]
            for n in range(2):
                logs.append(
                    await stack.enter_async_context(
                        numlookup(tmp_path, f"worker{n}", {**env, "NUMLOOKUP_AMI__SERVERS": ami}, "worker")
                    )
                )
            await until(lambda: all("API listening on" in log.read_text() for log in logs[:2]), within=20)
            await asterisk.wait(lambda: asterisk.logins_ok == 2, within=20)
            assert await versions(ports) == {"20990101T000000000001Z"}

            tasks = [asyncio.create_task(http_load(port, load)) for port in ports for _ in range(6)]
            tasks.append(asyncio.create_task(ami_load(asterisk, load, sent)))
            old_master = await setup.master_port()
            assert await limit_is_shared(ports, "192.0.2.1", old_master) in (True, None)
            assert await claims_are_exclusive(asterisk, 999, old_master)

            started = time.monotonic()
            await setup.failover()
            await until(lambda: _moved(setup, old_master))
            switched = time.monotonic() - started
            new_master = await setup.master_port()
            probes = iter(range(1000))
            limit_back = await recovered(
                lambda: limit_is_shared(ports, f"192.0.2.{next(probes) % 250 + 2}", new_master), started
            )
            claims_back = await recovered(
                lambda: claims_are_exclusive(asterisk, next(probes), new_master), started
            )
            await publish(settings, importer, "20990101T000000000002Z")
            published = time.monotonic()
            await until(lambda: _serving(ports, "20990101T000000000002Z"), within=RECOVERY, every=0.01)
            pushed = time.monotonic() - published

            load.stop.set()
            await asyncio.gather(*tasks)
            await until(lambda: all(statuses(asterisk)[uniqueid] for uniqueid in sent), within=10)
        await asterisk.stop()

    print(
        f"\nsentinels named the new master {switched:.2f} s after SENTINEL FAILOVER; shared rate limit back "
        f"after {limit_back:.2f} s, exclusive claims after {claims_back:.2f} s; a version published then "
        f"reached both API processes {pushed * 1000:.0f} ms after it was current; {load.ok} HTTP answers "
        f"and {len(sent)} AMI events, none failed"
    )
    assert load.failed == []
    assert load.ok > 1000
    assert pushed < 0.5
    texts = {log.stem: log.read_text() for log in logs}
    for text in texts.values():
        assert "Traceback" not in text, text
        assert text.count(f"Redis master {SERVICE} moved from 127.0.0.1:{old_master}") <= 1, text
        assert text.count("rate limit: Redis unavailable") <= 1, text
        assert text.count("Redis claim failed") <= 1, text
    assert all(f"moved from 127.0.0.1:{old_master}" in texts[name] for name in ("api0", "api1"))


async def _moved(setup: SentinelSetup, old: int) -> bool:
    return await setup.master_port() != old


async def _serving(ports: list[int], version: str) -> bool:
    return await versions(ports) == {version}
