"""Fixtures of the update tests: a fake portal on a real socket, a client of it, a store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.update.portal_fake import FakePortal
from worker.data.dataset.store import LocalStore
from worker.data.updates.portal import Portal


@pytest.fixture
async def fake_portal() -> AsyncIterator[tuple[FakePortal, str]]:
    """The fake portal and its base URL (``http://127.0.0.1:PORT/downloads/``)."""
    fake = FakePortal()
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield fake, str(server.make_url("/downloads/"))
    finally:
        fake.release.set()
        await server.close()


@pytest.fixture
async def portal(fake_portal: tuple[FakePortal, str]) -> AsyncIterator[Portal]:
    async with Portal(fake_portal[1], retries=3, backoff=0, read_timeout=0.5) as client:
        yield client


@pytest.fixture
def portal_thread() -> Iterator[tuple[FakePortal, str]]:
    fake = FakePortal()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{port}/downloads/"
    finally:
        loop.call_soon_threadsafe(fake.release.set)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "data")
