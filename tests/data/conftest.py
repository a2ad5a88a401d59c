"""Fixtures of the data area: the real registry copies (tests/realdata), hand-made ABC files, a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realdata import ROSSVYAZ
from worker.data.dataset.store import LocalStore
from worker.data.importer.registry import import_registry
from worker.settings import default_brands_file

REAL_DEF = ROSSVYAZ / "DEF-9xx.csv"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BRANDS = default_brands_file()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "data")


@pytest.fixture
def registry_store(store: LocalStore) -> LocalStore:
    """A store serving the real DEF file plus the hand-made ABC fixtures."""
    import_registry(store, [REAL_DEF, FIXTURES], brands=BRANDS, keep=3)
    return store
