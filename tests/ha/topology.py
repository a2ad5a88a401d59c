"""Real Redis topologies on loopback for the HA tests: a master with a replica and three sentinels, or a
three-master cluster. Every process is Debian's ``redis-server`` / ``redis-sentinel`` on a free port, its
files in the test's temporary directory, stopped when the block exits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

SERVICE = "mymaster"

needs_redis_binaries = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("redis-server", "redis-sentinel", "redis-cli"))
    and not os.environ.get("CI"),
    reason="redis-server, redis-sentinel and redis-cli are not on PATH (CI installs them)",
)

QUIET = ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--loglevel", "warning"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cluster_port() -> int:
    """A free port P ≤ 55535 with P + 10000 free too: a cluster node also listens there (its bus)."""
    while True:
        port = random.randrange(20000, 55536)
        with contextlib.ExitStack() as probes:
            try:
                for candidate in (port, port + 10000):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return port


async def until(check: Callable[[], object], within: float = 10.0, every: float = 0.02) -> None:
    """Until ``check()`` (sync or async) is true; the servers announce nothing we could wait on."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(every)


async def command(port: int, *args: str) -> Any:
    """One command to the server (or sentinel) at ``port``, its reply decoded."""
    client = Redis(port=port, decode_responses=True, socket_timeout=2)
    try:
        return await client.execute_command(*args)  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()


async def answers_ping(port: int) -> bool:
    client = Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


@dataclass
class Processes:
    """Processes started here, stopped in reverse order."""

    root: Path
    started: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self, program: str, *args: str, port: int) -> None:
        with (self.root / f"{program}-{port}.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                program, *args, cwd=self.root, stdout=log, stderr=log
            )
        self.started.append(process)
        await until(lambda: answers_ping(port), within=10)

    async def stop(self) -> None:
        for process in reversed(self.started):
            process.terminate()
        for process in self.started:
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class SentinelSetup:
    master: int
    replica: int
    sentinels: list[int]

    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.sentinels]

    async def master_port(self) -> int:
        """The master's port as the first sentinel names it now."""
        _, port = await command(self.sentinels[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    async def failover(self) -> None:
        await command(self.sentinels[0], "SENTINEL", "FAILOVER", SERVICE)


@contextlib.asynccontextmanager
async def sentinel_setup(root: Path) -> AsyncIterator[SentinelSetup]:
    """A master, its replica (in sync) and three sentinels that all see both; the quorum is two."""
    processes = Processes(root)
    setup = SentinelSetup(free_port(), free_port(), [free_port() for _ in range(3)])
    try:
        await processes.start("redis-server", "--port", str(setup.master), *QUIET, port=setup.master)
        replica_of = ["--replicaof", "127.0.0.1", str(setup.master)]
        await processes.start(
            "redis-server", "--port", str(setup.replica), *QUIET, *replica_of, port=setup.replica
        )
        replica = Redis(port=setup.replica)
        try:
            await until(lambda: _linked(replica))
        finally:
            await replica.aclose()
        for port in setup.sentinels:
            config = root / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {root}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {setup.master} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n",
                encoding="utf-8",
            )
            await processes.start("redis-sentinel", str(config), port=port)
        for port in setup.sentinels:  # a failover needs every sentinel to know the replica and the others
            await until(lambda port=port: _sees_all(port))  # type: ignore[misc]
        yield setup
    finally:
        await processes.stop()


async def _linked(replica: Redis) -> bool:
    info = await replica.info("replication")
    return info.get("master_link_status") == "up"


async def _sees_all(port: int) -> bool:
    replicas = await command(port, "SENTINEL", "REPLICAS", SERVICE)
    others = await command(port, "SENTINEL", "SENTINELS", SERVICE)
    return len(replicas) == 1 and len(others) == 2


@contextlib.asynccontextmanager
async def cluster_setup(root: Path) -> AsyncIterator[list[int]]:
    """Three masters, the 16384 slots split between them by ``redis-cli --cluster create``."""
    processes = Processes(root)
    ports = [cluster_port() for _ in range(3)]
    try:
        for port in ports:
            cluster = ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
            await processes.start("redis-server", "--port", str(port), *QUIET, *cluster, port=port)
        nodes = [f"127.0.0.1:{port}" for port in ports]
        create = await asyncio.create_subprocess_exec(
            "redis-cli", "--cluster", "create", *nodes, "--cluster-yes",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await create.communicate()
        assert create.returncode == 0, output.decode()
        for port in ports:
            await until(lambda port=port: _cluster_ok(port))  # type: ignore[misc]
        yield ports
    finally:
        await processes.stop()


async def _cluster_ok(port: int) -> bool:
    info = await command(port, "CLUSTER", "INFO")
    return "cluster_state:ok" in str(info)
