"""The versioned dataset: one immutable directory of compact arrays that every engine loads in milliseconds.

A version directory holds::

    meta.json        version, creation time, sources, counts
    operators.json   [{"inn", "name", "brand"}, ...]        index = operator id
    regions.json     ["Краснодарский край", ...]             index = region id: the federal subject
    localities.json  ["", "г. Казань", ...]                  index = locality id; 0 = none
    ranges.bin       int64 start[n] · int64 end[n] · uint16 operator[n] · uint16 region[n] ·
                     uint32 locality[n] · uint8 type[n]
    ported.idx       uint32 offset[1_000_001]: numbers whose first 6 national digits are b are
                     ported.num[offset[b]:offset[b+1]]
    ported.num       uint16 last 4 digits, sorted within each bucket
    ported.op        uint16 recipient operator id, parallel to ported.num

Ranges are national 10-digit numbers, sorted by start, so a Russian lookup is one bisect over a list.
Ported numbers are memory-mapped: several processes share one copy in the page cache, start-up reads nothing
but the index, and a lookup is one bisect among the few numbers sharing its first six digits: 30 M ported
numbers take 4 bytes each plus a 4 MB index (see docs/performance.md).

This module is the format and its reader (:class:`Dataset`); :mod:`worker.data.dataset.writer` writes it.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from worker.answer.model import LINE_TYPES, Allocation, Operator, RussianAnswer, russian_line_type
from worker.data.formats.registry import TAIL
from worker.errors import DataError

FORMAT: Final = 3  # 2: ported numbers in 6-digit buckets; 3: region = federal subject, locality column
BUCKET: Final = 10_000  # ported numbers are indexed by national // BUCKET
BUCKETS: Final = 1_000_000
KEY_SHIFT: Final = 16  # a ported key is ``national << KEY_SHIFT | operator``

_TYPE_INDEX: Final = {line_type: index for index, line_type in enumerate(LINE_TYPES)}


def line_type_for_code(code: int) -> int:
    """The line type of a Russian ABC/DEF code (:func:`worker.answer.model.russian_line_type`), as an index
    into :data:`~worker.answer.model.LINE_TYPES`: what the ``type`` column stores."""
    return _TYPE_INDEX[russian_line_type(code)]


# Where a version's registry came from (``Meta.source``): the snapshot shipped inside the package, files a
# user imported, or the official portal (``numlookup data update``). An MNP import keeps its version's source.
BUNDLED: Final = "bundled"
IMPORTED: Final = "imported"
PORTAL: Final = "portal"
SOURCES: Final = (BUNDLED, IMPORTED, PORTAL)
SOURCE_NAMES: Final = {
    BUNDLED: "the bundled snapshot",
    IMPORTED: "imported files",
    PORTAL: "the official portal",
}


# ``type`` comes before ``locality`` so rows read (start, end, operator, region, type, locality); the file
# stores ``locality`` before ``type`` (:data:`COLUMNS`) so every column starts aligned.
RANGE_DTYPE: Final = np.dtype(
    [
        ("start", "<i8"),
        ("end", "<i8"),
        ("operator", "<u2"),
        ("region", "<u2"),
        ("type", "u1"),
        ("locality", "<u4"),
    ]
)
COLUMNS: Final = ("start", "end", "operator", "region", "locality", "type")  # their order in ranges.bin
# Formats whose operators.json and ported.* files are this format's: a registry import carries the ported
# numbers of such a version over even though the rest of it (its ranges) can no longer be read.
PORTED_COMPATIBLE: Final = frozenset({2, FORMAT})


@dataclass(frozen=True)
class Meta:
    version: str
    created: datetime
    ranges: int
    ported: int
    operators: int
    sources: list[str] = field(default_factory=list)
    mnp_sources: list[str] = field(default_factory=list)
    source: str = IMPORTED  # one of SOURCES; versions written before it was recorded count as imported
    published: date | None = None  # the registry's publication date; None: unknown, ``created`` stands in
    registry_sha256: str | None = None  # of the registry files' contents: a re-import of the same is seen
    # When MNP files were last applied (carried over by registry imports); None: never. Learned ports
    # (upstream answers) older than this give way to the official data.
    mnp_updated: datetime | None = None
    # Rows whose region names no federal subject (kept as the registry wrote it), and the most frequent
    # such values with their row counts: the import report of docs/data.md.
    unmapped_rows: int = 0
    unmapped_regions: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "created": self.created.isoformat(),
            "ranges": self.ranges,
            "ported": self.ported,
            "operators": self.operators,
            "sources": self.sources,
            "mnp_sources": self.mnp_sources,
            "source": self.source,
            "published": None if self.published is None else self.published.isoformat(),
            "registry_sha256": self.registry_sha256,
            "mnp_updated": None if self.mnp_updated is None else self.mnp_updated.isoformat(),
            "unmapped_rows": self.unmapped_rows,
            "unmapped_regions": self.unmapped_regions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Meta:
        if data.get("format") != FORMAT:
            raise DataError(f"dataset format {data.get('format')!r} is not {FORMAT}: re-import the data")
        return cls(
            version=str(data["version"]),
            created=datetime.fromisoformat(data["created"]),
            ranges=int(data["ranges"]),
            ported=int(data["ported"]),
            operators=int(data["operators"]),
            sources=list(data.get("sources", [])),
            mnp_sources=list(data.get("mnp_sources", [])),
            source=str(data.get("source") or IMPORTED),
            published=date.fromisoformat(data["published"]) if data.get("published") else None,
            registry_sha256=data.get("registry_sha256"),
            mnp_updated=datetime.fromisoformat(data["mnp_updated"]) if data.get("mnp_updated") else None,
            unmapped_rows=int(data.get("unmapped_rows", 0)),
            unmapped_regions={str(k): int(v) for k, v in data.get("unmapped_regions", {}).items()},
        )

    @property
    def age_seconds(self) -> float:
        return (datetime.now(UTC) - self.created).total_seconds()

    @property
    def registry_date(self) -> date:
        """The registry's publication date, or the day this version was built when that is unknown."""
        return self.published or self.created.astimezone(UTC).date()

    def age_days(self, today: date | None = None) -> int:
        """Whole days since the registry was published (0 on the day itself)."""
        return max(0, ((today or datetime.now(UTC).date()) - self.registry_date).days)

    def is_stale(self, after_days: int, today: date | None = None) -> bool:
        """Older than ``after_days`` (``data.stale_after_days``): time to import or update the registry."""
        return self.age_days(today) > after_days

    def describe(self, after_days: int, today: date | None = None) -> str:
        """Where the registry came from and how old it is, in one line for people."""
        age = self.age_days(today)
        origin = SOURCE_NAMES.get(self.source, self.source)
        text = f"registry of {self.registry_date.isoformat()} from {origin}, {age} day{'s' * (age != 1)} old"
        return text + (f" (stale: older than {after_days} days)" if self.is_stale(after_days, today) else "")


@dataclass(frozen=True)
class LookupArrays:
    starts: npt.NDArray[np.int64]  # national number of each range's first number, sorted
    ends: npt.NDArray[np.int64]
    operators: npt.NDArray[np.uint16]  # each range's holder, an index into Dataset.operators
    offsets: npt.NDArray[np.uint32]  # ported.idx
    tails: npt.NDArray[np.uint16]  # ported.num


class Dataset:
    """One loaded version. Immutable: a new version is a new :class:`Dataset`, swapped in by reference."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise DataError(f"{directory} is not a complete dataset version (no meta.json)")
        self.meta = Meta.from_json(json.loads(meta_path.read_text(encoding="utf-8")))
        self.operators = [
            Operator(inn=item["inn"], name=item["name"], brand=item["brand"])
            for item in json.loads((directory / "operators.json").read_text(encoding="utf-8"))
        ]
        self.regions: list[str] = json.loads((directory / "regions.json").read_text(encoding="utf-8"))
        self.localities: list[str] = json.loads((directory / "localities.json").read_text(encoding="utf-8"))
        self._load_ranges(directory / "ranges.bin")
        self._maps: list[mmap.mmap] = []
        self._offsets = self._map(directory / "ported.idx").cast("I")
        self._tails = self._map(directory / "ported.num").cast("H")
        self._owners = self._map(directory / "ported.op").cast("H")

    @property
    def version(self) -> str:
        return self.meta.version

    def _load_ranges(self, path: Path) -> None:
        raw = path.read_bytes()
        count = len(raw) // RANGE_DTYPE.itemsize
        columns = memoryview(raw)
        start_end = columns[: 16 * count].cast("q")
        self._starts = start_end[:count]
        self._ends = start_end[count:]
        # _before[b]: how many ranges start before bucket b's first number. A number of bucket b is then in
        # the last range starting before it, among _before[b] - 1 to _before[b + 1] - 1: usually one range
        # and no bisect, where a bisect over all of them touched ~19 places far apart in memory, and under a
        # server's load each was a cache miss (what the v1 hot path paid most for, after aiohttp).
        bucket_firsts = np.arange(BUCKETS + 1, dtype=np.int64) * BUCKET
        starts = np.frombuffer(raw, dtype=np.int64, count=count)
        self._before = np.searchsorted(starts, bucket_firsts).astype(np.uint32).data
        rest = columns[16 * count :]
        self._range_operator = rest[: 2 * count].cast("H")
        self._range_region = rest[2 * count : 4 * count].cast("H")
        self._range_locality = rest[4 * count : 8 * count].cast("I")
        self._range_type = rest[8 * count :]
        self._allocations: list[Allocation | None] = [None] * count

    def _map(self, path: Path) -> memoryview:
        with open(path, "rb") as source:
            if os.fstat(source.fileno()).st_size == 0:
                return memoryview(b"")
            mapped = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
        self._maps.append(mapped)
        return memoryview(mapped)

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def ported_count(self) -> int:
        return len(self._tails)

    def russian(self, digits: str) -> RussianAnswer | None:
        """The answer for ``7`` + 10 digits, or ``None`` outside every range.

        The hot path of the whole service: one bisect over the ranges, one over the ported numbers of the
        same 6-digit bucket, written out inline because every call saved here is a few percent of a lookup.
        """
        national = int(digits) - 70_000_000_000
        bucket, tail = divmod(national, BUCKET)
        before = self._before
        low, high = before[bucket], before[bucket + 1]
        index = low - 1 if low == high else bisect_right(self._starts, national, low, high) - 1
        if index < 0 or national > self._ends[index]:
            return None
        allocation = self._allocations[index] or self._remember_allocation(index)
        low = self._offsets[bucket]
        high = self._offsets[bucket + 1]
        if low != high:
            tails = self._tails
            found = bisect_left(tails, tail, low, high)
            if found < high and tails[found] == tail:
                recipient = self.operators[self._owners[found]]
                if recipient is not allocation.operator:
                    return RussianAnswer(digits[1:], allocation, recipient)
        return RussianAnswer(digits[1:], allocation, None)

    def allocation(self, national: int) -> Allocation | None:
        """The registry range holding a 10-digit national number, or ``None``."""
        low, high = self._before[national // BUCKET], self._before[national // BUCKET + 1]
        index = low - 1 if low == high else bisect_right(self._starts, national, low, high) - 1
        if index < 0 or national > self._ends[index]:
            return None
        return self._allocations[index] or self._remember_allocation(index)

    def allocation_at(self, index: int) -> Allocation:
        """Range ``index`` (0 ≤ index < len), built afresh and not remembered: for batch work that keeps
        its own per-range results (:mod:`worker.lookup.batch`)."""
        return self._build_allocation(index)

    def owners_at(self, positions: list[int]) -> list[int]:
        """The recipients at these positions of the ported arrays, read from ``ported.op`` rather than
        through its map: a batch's few random positions would map most of the file into the process
        (each page fault maps its neighbours too)."""
        with open(self.directory / "ported.op", "rb", buffering=0) as source:
            descriptor = source.fileno()
            return [int.from_bytes(os.pread(descriptor, 2, 2 * position), "little") for position in positions]

    def _remember_allocation(self, index: int) -> Allocation:
        allocation = self._allocations[index] = self._build_allocation(index)
        return allocation

    def _build_allocation(self, index: int) -> Allocation:
        start = self._starts[index]
        return Allocation(
            code=f"{start // TAIL:03d}",
            start=start,
            end=self._ends[index],
            operator=self.operators[self._range_operator[index]],
            region=self.regions[self._range_region[index]],
            line_type=LINE_TYPES[self._range_type[index]],
            locality=self.localities[self._range_locality[index]] or None,
        )

    def recipient(self, national: int) -> Operator | None:
        """The operator a ported number now belongs to, or ``None`` when it was never ported."""
        bucket, tail = divmod(national, BUCKET)
        offsets = self._offsets
        low, high = offsets[bucket], offsets[bucket + 1]
        if low == high:
            return None
        tails = self._tails
        index = bisect_left(tails, tail, low, high)
        if index < high and tails[index] == tail:
            return self.operators[self._owners[index]]
        return None

    def lookup_arrays(self) -> LookupArrays:
        """The ranges and the ported numbers' index and tails as numpy arrays, for looking many numbers up
        at once (:mod:`worker.lookup.batch`); the ported ones are views of the memory maps, not copies (the
        recipients: :meth:`owners_at`)."""
        count = len(self._starts)
        return LookupArrays(
            starts=np.array(self._starts, dtype=np.int64),
            ends=np.array(self._ends, dtype=np.int64),
            operators=np.frombuffer(self._range_operator, dtype=np.uint16, count=count),
            # on the maps themselves, so that close() can still release its views while these live
            offsets=np.frombuffer(_buffer(self._offsets), dtype=np.uint32),
            tails=np.frombuffer(_buffer(self._tails), dtype=np.uint16),
        )

    def iter_ranges(self) -> list[Allocation]:
        """Every range, in order (for diffs and status; not a hot path)."""
        return [self._build_allocation(index) for index in range(len(self._starts))]

    def ported_arrays(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint16]]:
        """Ported national numbers and their recipients as arrays, to build the next version from."""
        offsets = np.frombuffer(self._offsets, dtype=np.uint32).astype(np.int64)
        tails = np.frombuffer(self._tails, dtype=np.uint16).astype(np.uint64)
        buckets = np.repeat(np.arange(BUCKETS, dtype=np.uint64), np.diff(offsets))
        owners = np.frombuffer(self._owners, dtype=np.uint16).copy()
        return buckets * BUCKET + tails, owners

    def range_array(self) -> npt.NDArray[Any]:
        """The ranges as one :data:`RANGE_DTYPE` array, sorted by start (to build the next version from)."""
        raw = (self.directory / "ranges.bin").read_bytes()
        count = len(raw) // RANGE_DTYPE.itemsize
        ranges = np.empty(count, dtype=RANGE_DTYPE)
        offset = 0
        for column in COLUMNS:
            dtype = RANGE_DTYPE[column]
            ranges[column] = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
            offset += dtype.itemsize * count
        return ranges

    def ported_keys(self, spare: int = 0) -> npt.NDArray[np.uint64]:
        """Sorted ``national << 16 | operator`` keys, built a slice of buckets at a time; ``spare`` more
        uninitialised keys at the end leave room to add numbers without a second array.

        Read from the files, not through the memory maps, so building the next version does not leave the
        whole ported set resident twice."""
        offsets = np.frombuffer(self._offsets, dtype=np.uint32).astype(np.int64)
        return read_ported_keys(self.directory, offsets, spare)

    def close(self) -> None:
        """Release the memory maps (an engine that switched away calls this once no lookup holds it)."""
        for view in (self._offsets, self._tails, self._owners):
            view.release()
        for mapped in self._maps:
            with contextlib.suppress(BufferError):  # a view still alive somewhere; the GC unmaps it
                mapped.close()
        self._maps.clear()


def read_ported_keys(
    directory: Path, offsets: npt.NDArray[np.int64], spare: int = 0
) -> npt.NDArray[np.uint64]:
    """The ported numbers of a version directory as sorted keys (see :meth:`Dataset.ported_keys`)."""
    keys = np.empty(int(offsets[-1]) + spare, dtype=np.uint64)
    step = 4096  # buckets per slice
    with open(directory / "ported.num", "rb") as tails, open(directory / "ported.op", "rb") as ops:
        for first in range(0, BUCKETS, step):
            low, high = int(offsets[first]), int(offsets[min(first + step, BUCKETS)])
            if low == high:
                continue
            counts = np.diff(offsets[first : first + step + 1])
            buckets = np.repeat(np.arange(first, first + len(counts), dtype=np.uint64), counts)
            numbers = buckets * np.uint64(BUCKET) + np.fromfile(tails, dtype=np.uint16, count=high - low)
            owners = np.fromfile(ops, dtype=np.uint16, count=high - low)
            keys[low:high] = (numbers << np.uint64(KEY_SHIFT)) | owners
    return keys


@dataclass
class PortedPart:
    """What a registry import carries over from the current version: its operators, ported numbers and MNP
    sources, read also from a version of an older format whose ported files are the same
    (:data:`PORTED_COMPATIBLE`), so an upgrade that bumps the format loses no MNP data."""

    directory: Path
    operators: list[Operator]
    mnp_sources: list[str]
    mnp_updated: datetime | None
    offsets: npt.NDArray[np.int64]

    @classmethod
    def read(cls, directory: Path) -> PortedPart:
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") not in PORTED_COMPATIBLE:
                raise DataError(f"dataset format {meta.get('format')!r} is not {FORMAT}: re-import the data")
            operators = [
                Operator(inn=item["inn"], name=item["name"], brand=item["brand"])
                for item in json.loads((directory / "operators.json").read_text(encoding="utf-8"))
            ]
            offsets = np.fromfile(directory / "ported.idx", dtype=np.uint32).astype(np.int64)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"{directory} cannot be read: {error}") from error
        if len(offsets) != BUCKETS + 1:
            raise DataError(f"{directory}/ported.idx holds {len(offsets)} offsets, not {BUCKETS + 1}")
        updated = datetime.fromisoformat(meta["mnp_updated"]) if meta.get("mnp_updated") else None
        return cls(directory, operators, list(meta.get("mnp_sources", [])), updated, offsets)

    @property
    def ported_count(self) -> int:
        return int(self.offsets[-1])

    def ported_keys(self) -> npt.NDArray[np.uint64]:
        return read_ported_keys(self.directory, self.offsets)


def _buffer(view: memoryview) -> mmap.mmap | bytes:
    """The map (or empty bytes) under a view of it."""
    under = view.obj
    assert isinstance(under, mmap.mmap | bytes)
    return under
