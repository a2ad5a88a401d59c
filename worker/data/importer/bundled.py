"""The registry snapshot shipped inside the package (``worker/data/bundled/``): what a fresh install serves.

``snapshot.json`` beside the compressed files says where each came from, its row count and the SHA-256 of
its uncompressed bytes, and the registry's publication date. :func:`import_bundled` imports the snapshot only
into a data dir that has no dataset: it is the embedded default, and never replaces data a user imported or
downloaded.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from worker.data.dataset.format import BUNDLED, Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer.build import Progress
from worker.data.importer.registry import import_registry
from worker.errors import DataError

DIRECTORY: Final = "bundled"  # under the worker.data package
DESCRIPTION: Final = "snapshot.json"


@dataclass(frozen=True)
class BundledFile:
    name: str  # the CSV's name; the package holds ``name + ".xz"``
    official: str  # where the portal publishes the whole file
    copied_from: str
    complete: bool  # False for the ABC samples: real rows, not whole codes
    rows: int
    sha256: str


@dataclass(frozen=True)
class Snapshot:
    published: date
    portal: str
    files: tuple[BundledFile, ...]

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.files)


def _directory() -> Traversable:
    return resources.files("worker.data").joinpath(DIRECTORY)


def snapshot() -> Snapshot:
    """What ``snapshot.json`` says of the bundled files."""
    data: dict[str, Any] = json.loads(_directory().joinpath(DESCRIPTION).read_text(encoding="utf-8"))
    files = tuple(
        BundledFile(
            name=str(item["name"]),
            official=str(item["official"]),
            copied_from=str(item["copied_from"]),
            complete=bool(item["complete"]),
            rows=int(item["rows"]),
            sha256=str(item["sha256"]),
        )
        for item in data["files"]
    )
    return Snapshot(date.fromisoformat(data["published"]), str(data["portal"]), files)


def unpack(target: Path, described: Snapshot | None = None) -> list[Path]:
    """Decompress the bundled CSVs into ``target``, each checked against its SHA-256; returns their paths."""
    described = described or snapshot()
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in described.files:
        packed = _directory().joinpath(f"{item.name}.xz")
        try:
            data = lzma.decompress(packed.read_bytes())
        except (OSError, lzma.LZMAError) as error:
            raise DataError(f"the bundled {item.name} cannot be read: {error}") from error
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise DataError(f"the bundled {item.name} does not match its SHA-256: a damaged installation")
        path = target / item.name
        path.write_bytes(data)
        paths.append(path)
    return paths


def import_bundled(
    store: LocalStore, *, brands: Path, keep: int, progress: Progress | None = None
) -> Meta | None:
    """Import the snapshot into ``store`` if it has no dataset; ``None`` when one is (or appeared) there.

    The version is built beside the store and published only if the store is still empty then, so a user's
    import that finished meanwhile is never replaced by the snapshot.
    """
    if store.current_version() is not None:
        return None
    described = snapshot()
    (store.root / "tmp").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bundled-", dir=store.root / "tmp"))
    try:
        staging = LocalStore(scratch / "store")
        meta = import_registry(
            staging,
            unpack(scratch / "files", described),
            brands=brands,
            keep=1,
            progress=progress,
            source=BUNDLED,
            published=described.published,
            names=[f"bundled:{item.name}" for item in described.files],
        )
        if store.current_version() is not None:
            return None
        store.publish(staging.versions_dir / meta.version, meta.version, keep=keep)
        return meta
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
