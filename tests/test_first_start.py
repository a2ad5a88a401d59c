"""A fresh machine with no network: ``numlookup api`` on an empty data dir serves the bundled snapshot within
seconds, a later ``numlookup data import`` replaces it, and a restart never brings the snapshot back.

Real processes, as a user starts them; the portal URL points at a closed port (no portal reachable).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest

from tests.realdata import ROSSVYAZ

REPO = Path(__file__).resolve().parents[1]
NUMBER = "79170415564"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def offline_env() -> dict[str, str]:
    env = {
        **os.environ,
        "NUMLOOKUP_DATA__PORTAL_URL": f"http://127.0.0.1:{free_port()}/downloads/",  # nothing listens there
        "NUMLOOKUP_DATA__PORTAL_RETRIES": "2",
        "NUMLOOKUP_DATA__PORTAL_BACKOFF": "0.1",
        "NUMLOOKUP_DATA__RELOAD_INTERVAL": "0.2",
        "NUMLOOKUP_REDIS__URL": "",
        "PYTHONPATH": str(REPO),
    }
    env.pop("NUMLOOKUP_DATA__STALE_AFTER_DAYS", None)
    return env


class Api:
    """``numlookup api`` in a process of its own, its stderr collected line by line."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # one process: each request then sees the same process's data (with --workers N, a request right
        # after one process switched may reach another still switching)
        command = ["-m", "worker", "--data-dir", str(self.data_dir), "api", "--workers", "1"]
        command += ["--port", str(self.port)]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *command, cwd=REPO, env=offline_env(), stderr=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode())

    def alive(self) -> None:
        assert self.process is not None
        assert self.process.returncode is None, self.lines

    async def logged(self, text: str, seconds: float = 20) -> None:
        async with asyncio.timeout(seconds):
            while not any(text in line for line in self.lines):
                self.alive()
                await asyncio.sleep(0.05)

    async def get(self, path: str) -> tuple[int, str]:
        """GET once the port listens (within 20 s)."""
        async with asyncio.timeout(20), aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(self.base + path) as response:
                        return response.status, await response.text()
                except aiohttp.ClientConnectorError:
                    self.alive()
                    await asyncio.sleep(0.02)

    async def health(self) -> dict[str, object]:
        status, body = await self.get("/health")
        assert status == 200
        answer: dict[str, object] = json.loads(body)
        return answer

    async def dataset(self) -> dict[str, object]:
        part = (await self.health())["dataset"]
        assert isinstance(part, dict)
        return part

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(self.process.wait(), 20) == 0
        if self._reader is not None:
            await self._reader


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    service = Api(tmp_path / "data")
    try:
        yield service
    finally:
        if service.process is not None and service.process.returncode is None:
            service.process.kill()
            await service.process.wait()


async def test_bundled_first_then_an_import_replaces_it_for_good(api: Api, tmp_path: Path) -> None:
    assert not api.data_dir.exists()
    await api.start()
    # get() gives up after 20 s; how long it takes is measured by bench/first_start.py (~2 s, most of it
    # Python's imports), not asserted here
    status, body = await api.get(f"/get/?num={NUMBER}")
    assert status == 200
    assert json.loads(body) | {"operator": "МТС", "region": "Республика Башкортостан"} == json.loads(body)

    health = await api.health()
    bundled = health["dataset"]
    assert isinstance(bundled, dict)
    age = (datetime.now(UTC).date() - date(2026, 8, 19)).days
    assert (bundled["source"], bundled["published"], bundled["age_days"]) == ("bundled", "2026-08-19", age)
    assert bundled["stale"] is (age > 30)  # the default data.stale_after_days
    assert health["status"] == ("warning" if age > 30 else "ok")
    # the portal is tried behind the serving snapshot, and its failure is one warning, not a stop
    await api.logged("the official registry portal could not be used")
    assert (await api.get(f"/get/?num={NUMBER}&field=operator")) == (200, "МТС")

    today = datetime.now(UTC).date().isoformat()
    importing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "--data-dir", str(api.data_dir),
        "data", "import", "--published", today, str(ROSSVYAZ / "DEF-9xx.csv"),
        cwd=REPO, env=offline_env(), stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    _, errors = await importing.communicate()
    assert importing.returncode == 0, errors.decode()
    for _ in range(200):  # the running API follows the new version within data.reload_interval
        if (await api.dataset())["source"] == "imported":
            break
        await asyncio.sleep(0.1)
    health = await api.health()
    replaced = health["dataset"]
    assert isinstance(replaced, dict)
    assert (replaced["published"], replaced["age_days"], replaced["stale"]) == (today, 0, False)
    assert health["status"] == "ok"
    assert replaced["version"] != bundled["version"]
    await api.stop()

    again = Api(api.data_dir)  # a second start (``make run`` twice): no import, no portal, same data
    try:
        await again.start()
        assert (await again.dataset())["version"] == replaced["version"]
        assert (await again.get(f"/get/?num={NUMBER}&field=region")) == (200, "Республика Башкортостан")
    finally:
        await again.stop()
    log = "".join(again.lines)
    assert "bundled" not in log
    assert "portal" not in log
    assert len(list((api.data_dir / "versions").iterdir())) == 2


async def test_a_second_start_on_the_bundled_snapshot_imports_nothing(api: Api) -> None:
    await api.start()
    first = (await api.dataset())["version"]
    await api.stop()
    again = Api(api.data_dir)
    try:
        await again.start()
        assert (await again.dataset())["version"] == first
        await again.logged("the official registry portal could not be used")  # tried again: still offline
    finally:
        await again.stop()
    assert "imported the bundled registry snapshot" in "".join(api.lines)
    assert "imported the bundled registry snapshot" not in "".join(again.lines)
    assert len(list((api.data_dir / "versions").iterdir())) == 1
