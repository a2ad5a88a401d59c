"""What a registry import and an MNP import share: the build of a new version and how it is published.

Both importers fill a :class:`RegistryBuild` (ranges, operators, regions) and a set of ported keys, look up
range holders with :class:`Holders`, carry the MNP operator codes (:class:`MnpCodes`, ``mnp.json``) from
version to version, and end in :func:`publish_build`: written into ``store.scratch()``, published with
``store.publish()``; on any error the scratch directory is removed and the previous version keeps serving.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from worker.answer.model import Operator
from worker.data.dataset import ported
from worker.data.dataset.format import IMPORTED, Dataset, Meta
from worker.data.dataset.store import LocalStore
from worker.data.dataset.writer import new_version, write_dataset
from worker.data.formats.port_rows import REMOVE

UNMAPPED_SHOWN: Final = 20  # unmapped region values named in meta.json, the most frequent first
MNP_CODES_FILE: Final = (
    "mnp.json"  # OwnerId/MNC → ИНН from the Operators files, carried from version to version
)


class Progress(Protocol):
    """Told how far a long import is; ``done`` of ``total`` units (rows, bytes or files) of one stage."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...


def quiet(stage: str, done: int, total: int) -> None:
    """The :class:`Progress` of a caller that did not ask for one."""


@dataclass
class RegistryBuild:
    operators: list[Operator]
    regions: list[str]
    ranges: npt.NDArray[Any]
    sources: list[str] = field(default_factory=list)
    source: str = IMPORTED  # where the registry came from (Meta.source)
    published: date | None = None  # when it was published (Meta.published)
    registry_sha256: str | None = None  # of the files it was read from (Meta.registry_sha256)
    localities: list[str] = field(default_factory=lambda: [""])
    unmapped_rows: int = 0  # rows whose region names no federal subject, kept as written
    unmapped_regions: dict[str, int] = field(default_factory=dict)  # the most frequent such values


@dataclass
class MnpCodes:
    """What the Operators files say: owner id (``mMTS``) and MNC → ИНН, and each ИНН's organisation name."""

    org_codes: dict[str, str] = field(default_factory=dict)
    mncs: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"org_codes": self.org_codes, "mncs": self.mncs, "names": self.names}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MnpCodes:
        return cls(dict(data.get("org_codes", {})), dict(data.get("mncs", {})), dict(data.get("names", {})))


def read_codes(directory: Path) -> MnpCodes:
    """The MNP codes a version directory carries (none before the first MNP import)."""
    try:
        return MnpCodes.from_json(json.loads((directory / MNP_CODES_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return MnpCodes()


class Holders:
    """The range holder of any national number (``REMOVE`` outside every range)."""

    def __init__(self, ranges: npt.NDArray[Any]) -> None:
        self.starts = np.ascontiguousarray(ranges["start"]).astype(np.uint64)
        self.ends = np.ascontiguousarray(ranges["end"]).astype(np.uint64)
        self.operators = np.ascontiguousarray(ranges["operator"])

    def of(self, numbers: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
        index = np.searchsorted(self.starts, numbers, side="right").astype(np.int64) - 1
        inside = index >= 0
        inside[inside] = numbers[inside] <= self.ends[index[inside]]
        holders = np.full(len(numbers), REMOVE, dtype=np.uint16)
        holders[inside] = self.operators[index[inside]]
        return holders

    def still_ported(self, keys: ported.Keys) -> ported.Mask:
        owners = keys & ported.OWNER_MASK
        holders = self.of(keys >> ported.SHIFT).astype(np.uint64)
        moved: ported.Mask = (holders != np.uint64(REMOVE)) & (holders != owners)
        return moved


def drop_idle_operators(build: RegistryBuild, keys: ported.Keys) -> None:
    """Drop operators that hold no range and no ported number, renumbering the rest (in place).

    Operators are carried from version to version (an operator only MNP files know must survive a registry
    update while numbers are ported to it); without this they would pile up across imports of different
    registry generations. Key order is unchanged: the operator id is below the number in a key.
    """
    count = len(build.operators)
    used = np.zeros(count, dtype=bool)
    used[np.unique(build.ranges["operator"])] = True
    for low in range(0, len(keys), ported.BLOCK):
        used[np.unique(keys[low : low + ported.BLOCK] & ported.OWNER_MASK).astype(np.int64)] = True
    if used.all():
        return
    renumber = np.cumsum(used, dtype=np.int64) - 1
    ranges = build.ranges.copy()  # it may be the current version's read-only memory map
    ranges["operator"] = renumber[ranges["operator"]]
    build.ranges = ranges
    table = renumber.astype(np.uint64)
    ported.map_in_place(keys, lambda block: (block & ~ported.OWNER_MASK) | table[block & ported.OWNER_MASK])
    build.operators[:] = [operator for operator, keep in zip(build.operators, used, strict=True) if keep]


def open_current(store: LocalStore) -> Dataset | None:
    return store.open() if store.current_version() is not None else None


def publish_build(
    store: LocalStore,
    build: RegistryBuild,
    keys: ported.Keys,
    codes: MnpCodes,
    *,
    keep: int,
    sources: list[str] | None = None,
    mnp_sources: list[str] | None = None,
    mnp_updated: datetime | None = None,
) -> Meta:
    """Write the build into a scratch directory and publish it; nothing is left behind on failure."""
    drop_idle_operators(build, keys)
    version = new_version()
    meta = Meta(
        version=version,
        created=datetime.now(UTC),
        ranges=len(build.ranges),
        ported=len(keys),
        operators=len(build.operators),
        sources=build.sources if sources is None else sources,
        mnp_sources=mnp_sources or [],
        source=build.source,
        published=build.published,
        registry_sha256=build.registry_sha256,
        mnp_updated=mnp_updated,
        unmapped_rows=build.unmapped_rows,
        unmapped_regions=build.unmapped_regions,
    )
    scratch = store.scratch()
    try:
        write_dataset(
            scratch,
            meta=meta,
            operators=build.operators,
            regions=build.regions,
            localities=build.localities,
            ranges=build.ranges,
            ported_keys=keys,
        )
        (scratch / MNP_CODES_FILE).write_text(
            json.dumps(codes.to_json(), ensure_ascii=False), encoding="utf-8"
        )
        store.publish(scratch, version, keep=keep)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return meta
