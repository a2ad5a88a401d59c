"""Fixtures of the update tests: a fake portal on a real socket, a client of it, a store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
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
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "data")
