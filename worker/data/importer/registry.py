"""Registry import: the numbering registry files in, one complete new dataset version published.

The ranges, operators and regions come from the registry files; the current version's ported numbers are
carried over (re-keyed to the new operator table, those back at their range holder dropped) together with its
MNP codes, so a registry update never loses MNP data.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from worker.answer.model import Operator
from worker.data.dataset import ported
from worker.data.dataset.format import IMPORTED, RANGE_DTYPE, Meta, PortedPart, line_type_for_code
from worker.data.dataset.store import LocalStore
from worker.data.digest import sha256_file
from worker.data.formats.brands import Brands
from worker.data.formats.names import name_key
from worker.data.formats.places import place
from worker.data.formats.registry import TAIL, read_registry, registry_files
from worker.data.importer.build import (
    UNMAPPED_SHOWN,
    Holders,
    MnpCodes,
    Progress,
    RegistryBuild,
    publish_build,
    quiet,
    read_codes,
)
from worker.errors import BadFiles, DataError, MalformedInput

log = logging.getLogger(__name__)


def operator_key(operator: Operator) -> str:
    return operator.inn or f"name:{name_key(operator.name)}"


def build_registry(paths: Sequence[Path], brands: Brands, progress: Progress = quiet) -> RegistryBuild:
    """Read every registry file into ranges, operators, subjects and localities (ranges sorted, checked for
    overlaps); rows whose region names no subject are kept as written and counted (``build.unmapped``)."""
    files = registry_files(list(paths))
    spellings: dict[str, Counter[str]] = {}
    regions: dict[str, int] = {}
    localities: dict[str, int] = {"": 0}
    unmapped: Counter[str] = Counter()
    rows: list[tuple[int, int, str, int, int, int, int]] = []
    bad: list[MalformedInput] = []
    for file_index, path in enumerate(files):
        progress("read registry", file_index, len(files))
        try:
            read = list(read_registry(path))
        except MalformedInput as error:  # go on: every bad file is reported at once, one line each
            bad.append(error)
            continue
        for row in read:
            key = brands.key_for(row.inn, row.operator)
            spellings.setdefault(key, Counter())[row.operator] += 1
            where = place(row.region, row.gar)
            if not where.mapped:
                unmapped[where.subject] += 1
            region = regions.setdefault(where.subject, len(regions))
            locality = localities.setdefault(where.locality or "", len(localities))
            rows.append((row.start, row.end, key, region, locality, file_index, row.line))
    progress("read registry", len(files), len(files))
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise BadFiles(bad)
    if not rows:
        raise DataError("the registry files hold no ranges")
    keys = sorted(spellings)
    key_index = {key: index for index, key in enumerate(keys)}
    ranges = np.array(
        [(s, e, key_index[k], r, line_type_for_code(s // TAIL), loc) for s, e, k, r, loc, _f, _l in rows],
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
    return RegistryBuild(
        operators,
        list(regions),
        ranges,
        [str(path) for path in files],
        localities=list(localities),
        unmapped_rows=unmapped.total(),
        unmapped_regions=dict(unmapped.most_common(UNMAPPED_SHOWN)),
    )


def import_registry(
    store: LocalStore,
    paths: Sequence[Path],
    *,
    brands: Path,
    keep: int,
    progress: Progress | None = None,
    source: str = IMPORTED,
    published: date | None = None,
    names: Sequence[str] | None = None,
) -> Meta:
    """A full new version from registry files, keeping the current version's ported numbers; published.

    ``source`` and ``published`` say where the registry came from and when it was published (see
    :class:`Meta`); without ``published``, the newest modification date among the files stands in for it.
    ``names`` are what ``Meta.sources`` calls the files (default: their paths).
    """
    report = progress or quiet
    build = build_registry(paths, Brands.load(brands), report)
    files = [Path(name) for name in build.sources]
    build.source = source
    build.published = published or files_date(files)
    build.registry_sha256 = files_digest(files)
    if names is not None:
        build.sources = list(names)
    current = store.current_version()
    previous = None
    if current is not None:
        try:  # the ported part only: it reads as well from a version of the previous dataset format
            previous = PortedPart.read(store.versions_dir / current)
        except DataError as error:  # e.g. an unreadable or much older version: start the ported set afresh
            log.warning("not carrying ported numbers over from the current version: %s", error)
    keys = np.zeros(0, dtype=np.uint64)
    codes = MnpCodes()
    mnp_sources: list[str] = []
    mnp_updated = None
    if previous is not None:
        report("carry over ported numbers", 0, previous.ported_count)
        keys = carry_over(previous, build)
        codes = read_codes(previous.directory)
        mnp_sources = previous.mnp_sources
        mnp_updated = previous.mnp_updated
    return publish_build(
        store, build, keys, codes, keep=keep, mnp_sources=mnp_sources, mnp_updated=mnp_updated
    )


def files_digest(files: Sequence[Path]) -> str:
    """One SHA-256 of the files' contents, whatever their names and order: the same registry, recognised."""
    digests = []
    for path in files:
        try:
            digests.append(sha256_file(path))
        except OSError as error:
            raise MalformedInput(path, 0, f"cannot read: {error.strerror or error}") from error
    digests.sort()
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def files_date(files: Sequence[Path]) -> date:
    """The newest modification date (UTC) among ``files``: what an imported file says of its own age."""
    newest = max(path.stat().st_mtime for path in files)
    return datetime.fromtimestamp(newest, UTC).date()


def carry_over(previous: PortedPart, build: RegistryBuild) -> ported.Keys:
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
