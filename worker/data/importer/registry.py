"""The import pipeline: registry or MNP files in, one complete new dataset version published atomically.

Every import builds into ``store.scratch()`` and publishes with ``store.publish()``; on any error the scratch
directory is removed and the previous version keeps serving. A registry import carries the current version's
ported numbers over (re-keyed to the new operator table); an MNP import keeps the current version's registry.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from worker.answer.model import Operator
from worker.data.dataset import ported
from worker.data.dataset.format import RANGE_DTYPE, Dataset, Meta, line_type_for_code
from worker.data.dataset.store import LocalStore
from worker.data.dataset.writer import new_version, write_dataset
from worker.data.formats.brands import Brands
from worker.data.formats.names import name_key, readable_region
from worker.data.formats.registry import TAIL, read_registry, registry_files
from worker.data.importer.mnp import MnpCodes, apply_mnp_files
from worker.errors import DataError, MalformedInput
from worker.settings import default_brands_file

log = logging.getLogger(__name__)

MNP_CODES_FILE = "mnp.json"  # OwnerId/MNC → ИНН from the Operators files, carried from version to version


class Progress(Protocol):
    """Told how far a long import is; ``done`` of ``total`` units (rows, bytes or files) of one stage."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...


def _quiet(stage: str, done: int, total: int) -> None:
    pass


@dataclass
class RegistryBuild:
    operators: list[Operator]
    regions: list[str]
    ranges: npt.NDArray[Any]
    sources: list[str] = field(default_factory=list)


def operator_key(operator: Operator) -> str:
    return operator.inn or f"name:{name_key(operator.name)}"


def build_registry(paths: Sequence[Path], brands: Brands, progress: Progress = _quiet) -> RegistryBuild:
    """Read every registry file into ranges, operators and regions (ranges sorted, checked for overlaps)."""
    files = registry_files(list(paths))
    spellings: dict[str, Counter[str]] = {}
    regions: dict[str, int] = {}
    readable: dict[str, str] = {}
    rows: list[tuple[int, int, str, int, int, int]] = []
    for file_index, path in enumerate(files):
        progress("read registry", file_index, len(files))
        for row in read_registry(path):
            key = brands.key_for(row.inn, row.operator)
            spellings.setdefault(key, Counter())[row.operator] += 1
            shown = readable.get(row.region)
            if shown is None:
                shown = readable[row.region] = readable_region(row.region)
            region = regions.setdefault(shown, len(regions))
            rows.append((row.start, row.end, key, region, file_index, row.line))
    progress("read registry", len(files), len(files))
    if not rows:
        raise DataError("the registry files hold no ranges")
    keys = sorted(spellings)
    key_index = {key: index for index, key in enumerate(keys)}
    ranges = np.array(
        [(s, e, key_index[k], r, line_type_for_code(s // TAIL)) for s, e, k, r, _f, _l in rows],
        dtype=RANGE_DTYPE,
    )
    origin = np.array([(f, line) for *_rest, f, line in rows], dtype=np.int64).reshape(-1, 2)
    order = np.argsort(ranges["start"], kind="stable")
    ranges, origin = ranges[order], origin[order]
    overlap = np.flatnonzero(ranges["start"][1:] <= ranges["end"][:-1])
    if len(overlap):
        first, second = origin[overlap[0]], origin[overlap[0] + 1]
        raise MalformedInput(
            files[second[0]],
            int(second[1]),
            f"range overlaps {files[first[0]]}:{first[1]} (same numbers twice)",
        )
    operators = [brands.operator(key, spellings[key]) for key in keys]
    return RegistryBuild(operators, list(regions), ranges, [str(path) for path in files])


def import_registry(
    store: LocalStore, paths: Sequence[Path], *, brands: Path, keep: int, progress: Progress | None = None
) -> Meta:
    """A full new version from registry files, keeping the current version's ported numbers; published."""
    report = progress or _quiet
    build = build_registry(paths, Brands.load(brands), report)
    try:
        previous = _open_current(store)
    except DataError as error:  # e.g. a version of an older dataset format: start the ported set afresh
        log.warning("not carrying ported numbers over from the current version: %s", error)
        previous = None
    keys = np.zeros(0, dtype=np.uint64)
    codes = MnpCodes()
    mnp_sources: list[str] = []
    if previous is not None:
        report("carry over ported numbers", 0, previous.ported_count)
        keys = carry_over(previous, build)
        codes = read_codes(previous.directory)
        mnp_sources = previous.meta.mnp_sources
        previous.close()
    return publish_build(store, build, keys, codes, keep=keep, mnp_sources=mnp_sources)


def carry_over(previous: Dataset, build: RegistryBuild) -> ported.Keys:
    """The previous ported numbers re-keyed to ``build``'s operators; those back at their holder dropped."""
    index = {operator_key(operator): number for number, operator in enumerate(build.operators)}
    table = np.empty(max(len(previous.operators), 1), dtype=np.uint64)
    for old, operator in enumerate(previous.operators):
        new = index.get(operator_key(operator))
        if new is None:  # an operator only MNP files know (a TIN the registry lacks): keep it
            new = index[operator_key(operator)] = len(build.operators)
            build.operators.append(operator)
        table[old] = new
    keys = previous.ported_keys()
    ported.map_in_place(keys, lambda block: (block & ~ported.OWNER_MASK) | table[block & ported.OWNER_MASK])
    holders = Holders(build.ranges)
    return keys[: ported.filter_in_place(keys, holders.still_ported)]


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
        holders = np.full(len(numbers), ported.REMOVE, dtype=np.uint16)
        holders[inside] = self.operators[index[inside]]
        return holders

    def still_ported(self, keys: ported.Keys) -> ported.Mask:
        owners = keys & ported.OWNER_MASK
        holders = self.of(keys >> ported.SHIFT).astype(np.uint64)
        moved: ported.Mask = (holders != np.uint64(ported.REMOVE)) & (holders != owners)
        return moved


def import_mnp(
    store: LocalStore,
    paths: Sequence[Path],
    *,
    keep: int,
    progress: Progress | None = None,
    brands: Path | None = None,
) -> Meta:
    """Apply MNP files onto the current version's registry and publish the result as a new version.

    Operators files are read first; then, in file-name date order, a ``Port_All`` snapshot replaces the
    ported set and ``Port_Increment``/``Return_Increment`` files change it (see ``docs/data.md``).
    """
    current = _open_current(store)
    if current is None:
        raise DataError("import the registry first (numlookup data import PATH): MNP data needs its ranges")
    report = progress or _quiet
    try:
        build = RegistryBuild(list(current.operators), list(current.regions), current.range_array())
        codes = read_codes(current.directory)
        result = apply_mnp_files(
            current,
            build.operators,
            Holders(build.ranges),
            codes,
            [Path(p) for p in paths],
            Brands.load(brands or default_brands_file()),
            report,
        )
        sources = current.meta.mnp_sources if not result.replaced else []
        return publish_build(
            store,
            build,
            result.keys,
            codes,
            keep=keep,
            sources=current.meta.sources,
            mnp_sources=[*sources, *result.sources],
        )
    finally:
        current.close()


def publish_build(
    store: LocalStore,
    build: RegistryBuild,
    keys: ported.Keys,
    codes: MnpCodes,
    *,
    keep: int,
    sources: list[str] | None = None,
    mnp_sources: list[str] | None = None,
) -> Meta:
    """Write the build into a scratch directory and publish it; nothing is left behind on failure."""
    version = new_version()
    meta = Meta(
        version=version,
        created=datetime.now(UTC),
        ranges=len(build.ranges),
        ported=len(keys),
        operators=len(build.operators),
        sources=build.sources if sources is None else sources,
        mnp_sources=mnp_sources or [],
    )
    scratch = store.scratch()
    try:
        write_dataset(
            scratch,
            meta=meta,
            operators=build.operators,
            regions=build.regions,
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


def read_codes(directory: Path) -> MnpCodes:
    try:
        return MnpCodes.from_json(json.loads((directory / MNP_CODES_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return MnpCodes()


def _open_current(store: LocalStore) -> Dataset | None:
    return store.open() if store.current_version() is not None else None
