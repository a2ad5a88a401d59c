"""``numlookup data mnp-sync DIR``: apply the MNP files an operator's SFTP sync drops into DIR, each once.

Files are recognised by name (``Port_All*``, ``Port_Increment*``, ``Return_Increment*`` and the ``Operators*``
files that map owner ids to ИНН; zipped or not) and ordered as the importer applies them
(:func:`worker.data.formats.mnp.file_order`: the digit groups of the name — date, sequence — then Operators,
snapshot, port, return). The state — which file (by name and SHA-256) was applied — lives in
``DATA_DIR/mnp-sync.json`` and is replaced atomically; it records names only, never kinds.

Exactly once, across crashes too: before importing, the state records the batch as *pending* together with
the version it starts from; after the import it records the batch as applied. If the process dies in between,
the next run looks at ``CURRENT``: moved on from the recorded version → the import was published, the batch
counts as applied; still there → nothing was published, the batch is applied again.

A new ``Port_All`` snapshot resets everything: the snapshot replaces the ported set, then only increments
newer than the snapshot are applied; older ones are recorded as superseded and never applied.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.digest import sha256_file
from worker.data.formats.mnp import Kind, file_order, kind_from_name
from worker.errors import DataError

log = logging.getLogger(__name__)

STATE_FILE: Final = "mnp-sync.json"
_SUFFIXES: Final = (".csv", ".zip", ".csv.zip", ".txt")

MnpImporter = Callable[[LocalStore, Sequence[Path]], Meta]


@dataclass(frozen=True)
class SyncFile:
    """A file seen in the sync directory, its kind told by its name (it is not read before it is applied)."""

    path: Path
    kind: Kind
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def order(self) -> tuple[tuple[int, ...], int]:
        return file_order(self.path.name, self.kind)


def scan(directory: Path) -> list[SyncFile]:
    """The MNP files in ``directory``, oldest first."""
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory")
    found = []
    for path in directory.iterdir():
        kind = kind_from_name(path.name)
        if kind is None or not path.is_file() or not path.name.lower().endswith(_SUFFIXES):
            continue
        found.append(SyncFile(path, kind, sha256_file(path)))
    return sorted(found, key=lambda item: item.order)


@dataclass
class SyncState:
    applied: dict[str, str] = field(default_factory=dict)  # file name → sha256, applied or superseded
    snapshot: str | None = None  # the last Port_All applied
    pending: dict[str, str] = field(default_factory=dict)  # the batch being imported (name → sha256) ...
    pending_base: str | None = None  # ... on top of this version ...
    pending_snapshot: str | None = None  # ... starting with this snapshot, if any

    @classmethod
    def load(cls, path: Path) -> SyncState:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except ValueError as error:
            raise DataError(f"{path} is corrupt ({error}); move it away to start MNP sync afresh") from error
        return cls(
            applied=dict(data.get("applied", {})),
            snapshot=data.get("snapshot"),
            pending=dict(data.get("pending", {})),
            pending_base=data.get("pending_base"),
            pending_snapshot=data.get("pending_snapshot"),
        )

    def save(self, path: Path) -> None:
        data = {
            "applied": self.applied,
            "snapshot": self.snapshot,
            "pending": self.pending,
            "pending_base": self.pending_base,
            "pending_snapshot": self.pending_snapshot,
            "saved": datetime.now(UTC).isoformat(),
        }
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        with open(staging, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, path)


@dataclass
class SyncReport:
    applied: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    version: str | None = None

    def summary(self) -> str:
        if not self.applied:
            return f"no new MNP files; {self.version} keeps serving"
        return f"applied {', '.join(self.applied)}; dataset {self.version} now serving"


def plan(files: Sequence[SyncFile], state: SyncState) -> tuple[list[SyncFile], list[SyncFile]]:
    """(files to apply in order, files superseded by a snapshot: older than it, never to be applied)."""
    for item in files:
        known = state.applied.get(item.name)
        if known is not None and known != item.sha256:
            raise DataError(f"{item.path} changed after it was applied (SHA-256 differs): refusing to guess")
    new = [item for item in files if item.name not in state.applied]
    snapshots = [item for item in new if item.kind == Kind.SNAPSHOT]
    latest = snapshots[-1] if snapshots else None
    cutoff = latest.order if latest else file_order(state.snapshot, Kind.SNAPSHOT) if state.snapshot else None
    if cutoff is None:
        return new, []
    superseded = [
        item
        for item in new
        if item is not latest
        and (item.kind == Kind.SNAPSHOT or (item.kind != Kind.OPERATORS and item.order <= cutoff))
    ]
    batch = [item for item in new if item is not latest and item not in superseded]
    return sorted(([latest] if latest else []) + batch, key=lambda item: item.order), superseded


def sync(store: LocalStore, directory: Path, importer: MnpImporter) -> SyncReport:
    """Apply what is new in ``directory`` (see the module docstring)."""
    path = store.root / STATE_FILE
    state = SyncState.load(path)
    _settle_pending(store, state, path)
    files = scan(directory)
    batch, superseded = plan(files, state)
    report = SyncReport(version=store.current_version())
    if not batch:
        return report
    state.pending = {item.name: item.sha256 for item in [*superseded, *batch]}
    state.pending_base = store.current_version()
    snapshots = [item.name for item in batch if item.kind == Kind.SNAPSHOT]
    state.pending_snapshot = snapshots[0] if snapshots else None
    state.save(path)
    meta = importer(store, [item.path for item in batch])
    _record(state)
    state.save(path)
    report.applied = [item.name for item in batch]
    report.superseded = [item.name for item in superseded]
    report.version = meta.version
    return report


def _record(state: SyncState) -> None:
    """Move the pending batch into ``applied`` (a snapshot first forgets everything before it)."""
    if state.pending_snapshot is not None:  # applied names stay known, so nothing older is ever applied
        state.snapshot = state.pending_snapshot
    state.applied.update(state.pending)
    state.pending, state.pending_base, state.pending_snapshot = {}, None, None


def _settle_pending(store: LocalStore, state: SyncState, path: Path) -> None:
    """Finish the bookkeeping of a run that died between importing and recording."""
    if not state.pending:
        return
    if store.current_version() != state.pending_base:
        log.warning(
            "the last mnp-sync stopped after publishing %s: recording it as applied", list(state.pending)
        )
        _record(state)
    else:
        log.warning("the last mnp-sync stopped before publishing %s: applied again", list(state.pending))
        state.pending, state.pending_base, state.pending_snapshot = {}, None, None
    state.save(path)
