"""Fixtures for the AMI worker: a fake Asterisk on a real socket and settings pointing at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.ami.fake_asterisk import FakeAsterisk
from worker.settings import Settings


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk(channels=set())
    await server.start()
    yield server
    await server.stop()


def worker_settings(*ports: int, fastagi: bool = False, **ami: Any) -> Settings:
    """Settings for a worker logged into the fake Asterisk(s) on ``ports``, with test-speed timers."""
    servers = [
        {"host": "127.0.0.1", "port": port, "username": "worker", "secret": "worker-secret"} for port in ports
    ]
    options = {"reconnect_min": 0.05, "reconnect_max": 0.2, "ping_interval": 5.0, "ping_timeout": 1.0}
    return Settings(
        ami={"servers": servers, **options, **ami},
        fastagi={"enabled": fastagi, "port": 0},
    )


async def until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for a worker-side condition: its counters have no event to wait on, so poll, bounded in time."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.002)
