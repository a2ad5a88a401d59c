"""The embedded store: versioned dataset directories under the data dir, switched by one atomic rename.

Layout::

    DATA_DIR/versions/<version>/   complete, immutable dataset versions (see worker.data.dataset.format)
    DATA_DIR/CURRENT               the name of the version every process serves
    DATA_DIR/tmp/                  versions being built; never read by an engine

A build writes into ``tmp/`` and :meth:`LocalStore.publish` renames it into ``versions/`` and then replaces
``CURRENT`` with ``os.replace``: a reader sees the old version or the new one, never half of either, and a
failed import leaves the previous version serving.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from worker.data.dataset.format import Dataset
from worker.errors import DataError, DatasetMissing


class LocalStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.versions_dir = data_dir / "versions"
        self.pointer = data_dir / "CURRENT"

    def scratch(self) -> Path:
        """A fresh directory to build a version in; remove it (or publish it) when done."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="build-", dir=tmp))

    def publish(self, built: Path, version: str, *, keep: int = 5) -> Path:
        """Move a complete build into place and make it current; prune history beyond ``keep``."""
        if not (built / "meta.json").is_file():
            raise DataError(f"{built} is not a complete dataset build")
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        target = self.versions_dir / version
        os.replace(built, target)
        self.point_to(version)
        self.prune(keep)
        return target

    def point_to(self, version: str) -> None:
        if not (self.versions_dir / version / "meta.json").is_file():
            raise DataError(f"no dataset version {version} in {self.versions_dir}")
        staging = self.root / f".CURRENT.{os.getpid()}"
        staging.write_text(version + "\n", encoding="utf-8")
        os.replace(staging, self.pointer)

    def current_version(self) -> str | None:
        try:
            version = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version or None

    def versions(self) -> list[str]:
        """Complete versions, oldest first (version names sort by creation time)."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(entry.name for entry in self.versions_dir.iterdir() if (entry / "meta.json").is_file())

    def open(self, version: str | None = None) -> Dataset:
        version = version or self.current_version()
        if version is None:
            raise DatasetMissing(str(self.root))
        return Dataset(self.versions_dir / version)

    def prune(self, keep: int) -> list[str]:
        """Remove the oldest versions beyond ``keep``, never the current one."""
        current = self.current_version()
        removable = [version for version in self.versions() if version != current]
        excess = max(0, len(removable) + (1 if current else 0) - keep)
        removed = removable[:excess]
        for version in removed:
            shutil.rmtree(self.versions_dir / version, ignore_errors=True)
        return removed
