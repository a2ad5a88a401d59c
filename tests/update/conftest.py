"""Fixtures of the update tests: a fake portal on a real socket, a store, and the importer under test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.update.portal_fake import FakePortal
from worker.data.dataset import Meta
from worker.data.portal import Portal
from worker.data.store import LocalStore

KEEP = 5


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


@pytest.fixture
def registry_importer() -> Callable[[LocalStore, Sequence[Path]], Meta]:
    from worker.data.importer import import_registry

    brands = Path(__file__).resolve().parents[2] / "config" / "brands.toml"

    def run(store: LocalStore, paths: Sequence[Path]) -> Meta:
        return import_registry(store, paths, brands=brands, keep=KEEP + 1)

    return run


@pytest.fixture
def mnp_importer() -> Callable[[LocalStore, Sequence[Path]], Meta]:
    from worker.data.importer import import_mnp

    def run(store: LocalStore, paths: Sequence[Path]) -> Meta:
        return import_mnp(store, paths, keep=KEEP)

    return run
