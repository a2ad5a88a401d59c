"""MNP import: MNP files applied onto the current version's registry, published as a new version.

The ranges, operators and regions stay (an operator only the Operators files know is added); the ported set
changes. Order (documented in ``docs/data.md``): every ``Operators`` file first; then the port files in
:func:`worker.data.formats.mnp.file_order` (the digit groups of their names, a snapshot before the increments
of its date, ``Port_Increment`` before ``Return_Increment``). A snapshot replaces the ported set and drops the
increments before it; the increments after it are applied together, the last row of a number winning, which
gives the same result as applying them one file at a time.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from worker.answer.model import Operator
from worker.data.dataset import ported
from worker.data.dataset.format import Dataset, Meta
from worker.data.dataset.store import LocalStore
from worker.data.formats.brands import Brands
from worker.data.formats.mnp import Kind, MnpFile, discover, read_operators
from worker.data.formats.names import fallback_brand, readable_operator
from worker.data.formats.port_rows import REMOVE, read_port_rows
from worker.data.importer.build import (
    Holders,
    MnpCodes,
    Progress,
    RegistryBuild,
    open_current,
    publish_build,
    quiet,
    read_codes,
)
from worker.errors import DataError, MalformedInput
from worker.settings import default_brands_file


@dataclass
class MnpResult:
    keys: ported.Keys
    sources: list[str]
    replaced: bool  # a snapshot replaced the previous ported set


class OperatorTable:
    """Owner ids to operator ids; a TIN the registry lacks becomes a new operator (named from OrgName)."""

    def __init__(self, operators: list[Operator], codes: MnpCodes, brands: Brands) -> None:
        self.operators, self.codes, self.brands = operators, codes, brands
        self.by_inn = {operator.inn: index for index, operator in enumerate(operators) if operator.inn}

    def __call__(self, owner: str, mnc: str) -> int | None:
        inn = self.codes.org_codes.get(owner) or self.codes.mncs.get(mnc.lstrip("0").zfill(2) if mnc else "")
        if inn is None:
            return None
        index = self.by_inn.get(inn)
        if index is None:
            entry = self.brands.by_inn.get(inn)
            name = (entry.name if entry else None) or readable_operator(self.codes.names.get(inn) or inn)
            brand = entry.brand if entry else fallback_brand(name)
            index = self.by_inn[inn] = len(self.operators)
            if index >= REMOVE:
                raise DataError("more than 65534 operators")
            self.operators.append(Operator(inn=inn, name=name, brand=brand))
        return index


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
    current = open_current(store)
    if current is None:
        raise DataError("import the registry first (numlookup data import PATH): MNP data needs its ranges")
    report = progress or quiet
    try:
        build = RegistryBuild(
            list(current.operators),
            list(current.regions),
            current.range_array(),
            source=current.meta.source,  # the registry stays what it was: so does its provenance
            published=current.meta.published,
            registry_sha256=current.meta.registry_sha256,
            localities=list(current.localities),
            unmapped_rows=current.meta.unmapped_rows,
            unmapped_regions=current.meta.unmapped_regions,
        )
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
            mnp_updated=datetime.now(UTC),
        )
    finally:
        current.close()


def apply_mnp_files(
    current: Dataset,
    operators: list[Operator],
    holders: Holders,
    codes: MnpCodes,
    paths: list[Path],
    brands: Brands,
    progress: Progress,
) -> MnpResult:
    files = discover(paths)
    if not files:
        raise DataError("no MNP files given")
    learn_codes(codes, [file for file in files if file.kind == Kind.OPERATORS])
    table = OperatorTable(operators, codes, brands)
    port_files = [file for file in files if file.kind != Kind.OPERATORS]
    snapshots = [index for index, file in enumerate(port_files) if file.kind == Kind.SNAPSHOT]
    start = snapshots[-1] if snapshots else -1
    applied = [file for file in files if file.kind == Kind.OPERATORS] + port_files[max(start, 0) :]
    # Increments first (they are small), so the snapshot's buffer is made with room for their additions.
    pending = [read_increment(file, table, holders, progress) for file in port_files[start + 1 :]]
    changes = None
    if pending:
        numbers = np.concatenate([numbers for numbers, _ in pending])
        owners = np.concatenate([owners for _, owners in pending])
        pending.clear()
        changes = ported.last_wins(numbers, owners)
    spare = 0 if changes is None else ported.additions(changes)
    if start >= 0:
        keys, size = read_snapshot(port_files[start], table, holders, progress, spare)
    else:
        keys, size = current.ported_keys(spare=spare), current.ported_count
        current.close()  # its memory maps are not needed any more: do not keep their pages resident
    if changes is not None:
        keys, size = ported.apply_changes(keys, size, changes)
    return MnpResult(keys[:size], [file.name for file in applied], start >= 0)


def learn_codes(codes: MnpCodes, files: list[MnpFile]) -> None:
    """Add what Operators files say (later files win for an owner id; the first operator of an MNC wins)."""
    for file in files:
        for row in read_operators(file):
            codes.org_codes[row.org_code] = row.tin
            if row.mnc:
                codes.mncs.setdefault(row.mnc.lstrip("0").zfill(2), row.tin)
            codes.names[row.tin] = row.name


def _rows(
    file: MnpFile, table: OperatorTable, progress: Progress
) -> Iterator[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint16]]]:
    stage = f"MNP {Path(file.member or file.path.name).name}"
    estimate = _size(file) // 45  # rows are not known up front; a typical row is ~45 bytes
    done = 0
    for numbers, owners in read_port_rows(file, table):
        done += len(numbers)
        progress(stage, done, max(estimate, done + 1))
        yield numbers, owners
    progress(stage, done, done)


def _size(file: MnpFile) -> int:
    if file.member is None:
        return file.path.stat().st_size
    with zipfile.ZipFile(file.path) as archive:
        return archive.getinfo(file.member).file_size


def read_snapshot(
    file: MnpFile, table: OperatorTable, holders: Holders, progress: Progress, spare: int
) -> tuple[ported.Keys, int]:
    """The ported set a snapshot lists (without numbers back at their holder or outside the registry), in a
    buffer with ``spare`` free keys after it; and its size."""
    keys = ported.Growing(_size(file) // 44 + spare)  # rows are 45+ bytes: one allocation, rarely grown
    rows = 0
    for numbers, owners in _rows(file, table, progress):
        rows += len(numbers)
        holder = holders.of(numbers)
        moved = (holder != REMOVE) & (holder != owners)
        keys.append(ported.make_keys(numbers[moved], owners[moved]))
    if not rows:  # an empty snapshot would silently un-port every number: a broken download, not data
        raise MalformedInput(file.name, 2, "the snapshot has no rows")
    return keys.keys, ported.sort_unique(keys.keys[: keys.size])


def read_increment(
    file: MnpFile, table: OperatorTable, holders: Holders, progress: Progress
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint16]]:
    """Every row as (number, new owner); a number back at its holder (or a return) carries ``REMOVE``."""
    numbers_parts, owner_parts = [], []
    for numbers, owners in _rows(file, table, progress):
        holder = holders.of(numbers)
        owners = np.where((holder == REMOVE) | (holder == owners), REMOVE, owners)
        numbers_parts.append(numbers)
        owner_parts.append(owners.astype(np.uint16))
    if not numbers_parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint16)
    return np.concatenate(numbers_parts), np.concatenate(owner_parts)
