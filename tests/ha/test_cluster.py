"""Redis Cluster: three masters made by ``redis-cli --cluster create``; ``numlookup data import`` publishes
there, replicas follow it (pushed), and the rate limit, the AMI claims and the answer cache work across
nodes, each through redis-py's own Cluster client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.data.conftest import FIXTURES
from tests.ha.topology import cluster_setup, command, needs_redis_binaries, until
from worker.api.app import LIMITER, create_app
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore
from worker.handlers.claims import Claims
from worker.lookup.cache import RedisCache
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_engine, open_redis
from worker.settings import DataSettings, HttpSettings, RedisSettings, Settings

pytestmark = needs_redis_binaries

REPO = Path(__file__).resolve().parents[2]


def cluster_settings(data_dir: Path, port: int, **http: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        redis=RedisSettings(url=f"redis://127.0.0.1:{port}/0", cluster=True, cache=True),
        data=DataSettings(reload_interval=60),  # a new version must arrive by push, not by a poll
        http=HttpSettings(**http),
    )


async def data_import(data_dir: Path, port: int) -> str:
    """``numlookup data import`` of the registry fixtures into the cluster; the version it made current."""
    env = {
        **os.environ,
        "NUMLOOKUP_REDIS__URL": f"redis://127.0.0.1:{port}/0",
        "NUMLOOKUP_REDIS__CLUSTER": "true",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "--data-dir", str(data_dir), "data", "import", str(FIXTURES),
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert "is current in Redis at the cluster at" in output.decode()
    version = LocalStore(data_dir).current_version()
    assert version is not None
    return version


@contextlib.asynccontextmanager
async def replica(root: Path, port: int, name: str) -> AsyncIterator[tuple[Settings, Any, LookupEngine]]:
    # the test clients come from loopback, which is exempt by default
    settings = cluster_settings(root / name, port, rate_limit=5, rate_limit_exempt=[])
    async with open_redis(settings) as redis, open_engine(settings, redis) as engine:
        yield settings, redis, engine


async def test_import_follow_limit_claims_and_cache_on_a_three_master_cluster(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    async with cluster_setup(tmp_path) as ports:
        first = await data_import(tmp_path / "importer", ports[0])
        # each replica names a different node: the client finds the others and routes every key
        async with (
            replica(tmp_path, ports[1], "a") as (settings, redis_a, a),
            replica(tmp_path, ports[2], "b") as (_, redis_b, b),
        ):
            assert a.version == b.version == first

            # publish → follow: a second import reaches both replicas by push
            channel = Keys(settings.redis.prefix).channel
            await until(lambda: _subscribers(ports, channel, 2))
            second = await data_import(tmp_path / "importer", ports[2])
            started = time.monotonic()
            await until(lambda: a.version == b.version == second, within=5, every=0.002)
            assert time.monotonic() - started < 0.5
            assert second != first

            # the rate limit: 5/s per client, counted together by two API replicas
            clients = [await aiohttp_client(create_app(settings, engine, redis=redis))
                       for engine, redis in ((a, redis_a), (b, redis_b))]  # fmt: skip
            now = time.time()
            for client in clients:
                client.app[LIMITER].clock = lambda: now  # one window for the whole test
            statuses: Counter[int] = Counter()
            for _ in range(4):
                for client in clients:
                    statuses[(await client.get("/get/?num=74959898533")).status] += 1
            assert statuses == {200: 5, 429: 3}
            assert not any(client.app[LIMITER].failing for client in clients)

            # claims: two workers claim the same 50 events in batches; each event is won exactly once
            claimers = [Claims(redis, prefix=settings.redis.prefix, ttl=30) for redis in (redis_a, redis_b)]
            won = await asyncio.gather(
                *(claimer.claim("pbx", f"1795875000.{n}") for n in range(50) for claimer in claimers)
            )
            assert sum(won) == 50
            assert all(claimer.errors == 0 for claimer in claimers)

            # the answer cache: what one replica computed, the other reads from the cluster
            answer = await a.lookup("+358181201235")
            assert isinstance(b.shared, RedisCache)
            hits = b.shared.hits
            assert await b.lookup("358181201235") == answer
            assert b.shared.hits == hits + 1

            # each version's keys share one slot (which master holds a version depends on its name's hash,
            # so whether every master holds some keys is chance, not a property to test)
            keys = Keys(settings.redis.prefix)
            files = sorted((tmp_path / "importer" / "versions" / second).iterdir())
            names = [keys.manifest(second), *(keys.file(second, path.name) for path in files)]
            slots = {await command(ports[0], "CLUSTER", "KEYSLOT", name) for name in names}
            assert len(files) > 3
            assert len(slots) == 1
            assert await command(ports[0], "CLUSTER", "KEYSLOT", keys.current) == await command(
                ports[0], "CLUSTER", "KEYSLOT", keys.versions
            )


async def _subscribers(ports: list[int], channel: str, count: int) -> bool:
    counts = [await command(port, "PUBSUB", "NUMSUB", channel) for port in ports]
    return sum(int(reply[1]) for reply in counts) >= count
