"""``numlookup worker`` alone: its ``/health`` and ``/metrics`` on ``ami.status_port`` (worker.api.status)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.ami.fake_asterisk import FakeAsterisk
from tests.ami.test_run import get_when_listening
from tests.metrics import AMI_SERIES, API_SERIES, sample, series
from worker.errors import ConfigError
from worker.service.serve import serve_worker
from worker.settings import Settings

# The API's series that any serving process has (its caches and dataset); no Redis here: no redis_up.
PROCESS_SERIES = {name: API_SERIES[name] for name in API_SERIES if "cache" in name or "dataset" in name}


def settings_for(data_dir: Path, asterisk_port: int, status_port: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        ami={
            "host": "127.0.0.1",
            "port": asterisk_port,
            "username": "worker",
            "secret": "worker-secret",
            "reconnect_min": 0.05,
            "reconnect_max": 0.2,
            "status_port": status_port,
        },
        fastagi={"enabled": False},
    )


async def test_the_worker_alone_shows_its_health_and_metrics(
    asterisk: FakeAsterisk, data_dir: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    port = unused_tcp_port_factory()
    stop = asyncio.Event()
    service = asyncio.create_task(serve_worker(settings_for(data_dir, asterisk.port, port), stop))
    base = f"http://127.0.0.1:{port}"
    await asterisk.wait(lambda: asterisk.logins_ok == 1)
    await asterisk.user_event("1795871609.1", "79170415564")
    await asterisk.wait(lambda: asterisk.status_of("1795871609.1") == ["OK"])

    status, body = await get_when_listening(f"{base}/health")
    health = json.loads(body)
    assert (status, health["status"], health["ami"]["ok"]) == (200, "ok", True)
    assert health["dataset"]["ranges"] > 0
    assert health["redis"] == {"configured": False}

    status, text = await get_when_listening(f"{base}/metrics")
    assert status == 200
    assert sample(text, "numlookup_ami_answers_total", status="OK") == 1
    assert sample(text, "numlookup_ami_connected", server=f"127.0.0.1:{asterisk.port}") == 1
    expected = {**AMI_SERIES, **PROCESS_SERIES}
    del expected["numlookup_fastagi_answers_total"]  # no AGI session yet: no status to count under
    assert series(text) == expected

    status, body = await get_when_listening(f"{base}/get/?num=79170415564")  # no lookups here
    assert (status, json.loads(body)) == (404, {"info": "404 Not Found"})

    await asterisk.stop()  # Asterisk gone: the worker is degraded, and says so
    async with asyncio.timeout(10):
        while json.loads((await get_when_listening(f"{base}/health"))[1])["status"] != "degraded":  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the worker notices by its own watchdog: nothing here to wait on
    stop.set()
    await asyncio.wait_for(service, 10)
    with pytest.raises(aiohttp.ClientConnectorError):  # and the port is closed with the worker
        async with aiohttp.ClientSession() as session, session.get(f"{base}/health"):
            pass


async def test_a_status_port_in_use_is_one_clear_error(
    asterisk: FakeAsterisk, data_dir: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"status cannot listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(serve_worker(settings_for(data_dir, asterisk.port, port)), 10)
