"""Synthetic MNP files in the real files' shape, for tests and benchmarks (never real subscribers' numbers).

``gen_mnp`` writes Operators, a zipped Port_All snapshot and Port_Increment/Return_Increment files whose
numbers are random numbers inside a registry's mobile ranges (:func:`mobile_ranges`), owned by real operators
(their real ИНН; OwnerIds and MNCs as the MNP files spell the big ones). Rows are formatted with numpy: a
full-size snapshot is tens of millions of them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from worker.data.synthetic.registry import MNP_OPERATORS

BLOCK: Final = 1 << 20
PORT_ALL_HEADER: Final = "Number,OwnerId,MNC,Route,RegionCode,PortDate,RowCount"
PORT_INCREMENT_HEADER: Final = (
    "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,OldMNC,NewMNC,RegionCode,PortDate,"
    "RowCount"
)
RETURN_HEADER: Final = (
    "NPId,Number,OwnerId,RangeHolderId,RangeHolderMNC,OldRoute,NewRoute,RegionCode,PortDate,RowCount"
)


@dataclass(frozen=True)
class MobileRange:
    start: int
    end: int
    holder_inn: str


def mobile_ranges(ranges: npt.NDArray[Any], operator_inns: Sequence[str]) -> list[MobileRange]:
    """The DEF (9xx) ranges of a dataset's range array, with their holders' ИНН."""
    mobile = ranges[(ranges["start"] >= 9_000_000_000) & (ranges["start"] < 10_000_000_000)]
    return [
        MobileRange(int(start), int(end), operator_inns[int(op)])
        for start, end, op in zip(mobile["start"], mobile["end"], mobile["operator"], strict=True)
    ]


def gen_mnp(
    outdir: Path, ranges: Sequence[MobileRange], *, numbers: int, increments: int = 2, seed: int = 1
) -> list[Path]:
    """Write Operators, a zipped Port_All snapshot and ``increments`` Port/Return increment pairs."""
    if not ranges:
        raise ValueError("no mobile (9xx) ranges to draw numbers from")
    writer = MnpWriter(outdir, ranges, np.random.default_rng(seed), date(2026, 8, 1))
    written = [writer.operators(), writer.snapshot(numbers)]
    for sequence in range(1, increments + 1):
        day = writer.day + timedelta(days=sequence)
        written.extend(writer.increment(sequence, day, max(1, numbers // 200)))
    return written


class MnpWriter:
    def __init__(
        self, outdir: Path, ranges: Sequence[MobileRange], rng: np.random.Generator, day: date
    ) -> None:
        outdir.mkdir(parents=True, exist_ok=True)
        self.outdir, self.rng, self.day = outdir, rng, day
        self.starts = np.array([item.start for item in ranges], dtype=np.uint64)
        sizes = np.array([item.end - item.start + 1 for item in ranges], dtype=np.uint64)
        self.cumulative = np.cumsum(sizes)
        # Every holder gets an OrgCode; the big mobile operators use the ids the MNP files use.
        known = {inn: (code, mnc) for code, mnc, inn, _name, _share in MNP_OPERATORS}
        self.orgs: list[tuple[str, str, str, str]] = [(c, m, i, n) for c, m, i, n, _s in MNP_OPERATORS]
        for inn in sorted({item.holder_inn for item in ranges} - set(known)):
            self.orgs.append((f"m{inn}", "", inn, f"Оператор {inn}"))
        org_index = {inn: index for index, (_c, _m, inn, _n) in enumerate(self.orgs)}
        self.range_holder = np.array([org_index[item.holder_inn] for item in ranges], dtype=np.int64)
        shares = np.array([share for *_rest, share in MNP_OPERATORS])
        self.shares = shares / shares.sum()
        self.ported = np.zeros(0, dtype=np.uint64)
        self.owners = np.zeros(0, dtype=np.int64)

    def operators(self) -> Path:
        path = self.outdir / f"Operators_{self.day:%Y%m%d}.csv"
        lines = ["OrgCode,MNC,TIN,OrgName,RowCount"]
        for index, (code, mnc, inn, name) in enumerate(self.orgs):
            quoted = '"' + name.replace('"', '""') + '"'
            lines.append(f"{code},{mnc},{inn},{quoted},{len(self.orgs) if index == 0 else ''}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def holders(self, numbers: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        index = np.searchsorted(self.starts, numbers, side="right") - 1
        return self.range_holder[index]

    def draw(self, count: int) -> npt.NDArray[np.uint64]:
        """``count`` distinct random numbers inside the mobile ranges, sorted."""
        total = int(self.cumulative[-1])
        count = min(count, total // 2)
        found = np.zeros(0, dtype=np.uint64)
        while len(found) < count:
            offsets = self.rng.integers(0, total, size=int((count - len(found)) * 1.05) + 16, dtype=np.uint64)
            index = np.searchsorted(self.cumulative, offsets, side="right")
            before = np.where(index > 0, self.cumulative[np.maximum(index - 1, 0)], 0).astype(np.uint64)
            found = np.union1d(found, self.starts[index] + offsets - before)
        keep = np.sort(self.rng.choice(len(found), size=count, replace=False))
        return found[keep]

    def recipients(self, numbers: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """A recipient per number other than its holder; one in a hundred goes back to its holder."""
        holders = self.holders(numbers)
        owners = self.rng.choice(len(self.shares), size=len(numbers), p=self.shares)
        same = owners == holders
        owners[same] = (owners[same] + 1) % len(self.shares)
        back = self.rng.random(len(numbers)) < 0.01
        owners[back] = holders[back]
        return owners

    def snapshot(self, count: int) -> Path:
        numbers = self.draw(count)
        owners = self.recipients(numbers)
        self.ported, self.owners = numbers, owners
        name = f"Port_All_{self.day:%Y%m%d}"
        path = self.outdir / f"{name}.zip"
        suffixes = [
            f",{code},{mnc or '00'},D{77 + index:04d},77,{self.day:%Y-%m-%d}T12:00:17+03:00,\n".encode()
            for index, (code, mnc, _inn, _name) in enumerate(self.orgs)
        ]
        with (
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
            archive.open(f"{name}.csv", "w", force_zip64=True) as out,
        ):
            out.write((PORT_ALL_HEADER + "\n").encode())
            first = (
                f"{numbers[0]:010d}".encode() + suffixes[int(owners[0])][:-1] + f"{len(numbers)}\n".encode()
            )
            out.write(first)
            for low in range(1, len(numbers), BLOCK):
                _write_rows(out, numbers[low : low + BLOCK], owners[low : low + BLOCK], suffixes)
        return path

    def owners_now(self, numbers: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Who serves each number now: its recipient if ported, else its range holder."""
        if not len(self.ported):
            return self.holders(numbers)
        where = np.minimum(np.searchsorted(self.ported, numbers), len(self.ported) - 1)
        return np.where(self.ported[where] == numbers, self.owners[where], self.holders(numbers))

    def record(self, numbers: npt.NDArray[np.uint64], owners: npt.NDArray[np.int64] | None) -> None:
        """Update the generator's view of the ported set (``owners`` None: returned to the holder)."""
        keep = ~np.isin(self.ported, numbers)
        if owners is None:
            self.ported, self.owners = self.ported[keep], self.owners[keep]
            return
        merged = np.concatenate([self.ported[keep], numbers])
        order = np.argsort(merged, kind="stable")
        self.ported, self.owners = merged[order], np.concatenate([self.owners[keep], owners])[order]

    def increment(self, sequence: int, day: date, count: int) -> list[Path]:
        """One day's Port_Increment (new and moved numbers) and Return_Increment; the state follows them."""
        stamp = f"{day:%Y%m%d}_{sequence:04d}"
        return [
            self.port_increment(stamp, sequence, day, count),
            self.return_increment(stamp, sequence, day, count),
        ]

    def port_increment(self, stamp: str, sequence: int, day: date, count: int) -> Path:
        fresh = self.draw(count)
        moved = self.rng.choice(self.ported, size=min(count // 2, len(self.ported)), replace=False)
        numbers = np.union1d(fresh, moved)
        owners, donors, holders = self.recipients(numbers), self.owners_now(numbers), self.holders(numbers)
        lines = [PORT_INCREMENT_HEADER]
        when = f"{day:%Y-%m-%d}T10:00:00+03:00"
        for row, (number, owner, donor, holder) in enumerate(
            zip(numbers, owners, donors, holders, strict=True)
        ):
            (code, mnc, _i, _n), (donor_code, donor_mnc, _di, _dn) = self.orgs[owner], self.orgs[donor]
            lines.append(
                f"{sequence * 10_000_000 + row},{number:010d},{code},{donor_code},{self.orgs[holder][0]},"
                f"D0001,D{77 + owner:04d},{donor_mnc or '00'},{mnc or '00'},77,{when},"
                + (str(len(numbers)) if row == 0 else "")
            )
        path = self.outdir / f"Port_Increment_{stamp}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.record(numbers, owners)
        return path

    def return_increment(self, stamp: str, sequence: int, day: date, count: int) -> Path:
        size = min(count // 4 + 1, len(self.ported))
        returned = np.sort(self.rng.choice(self.ported, size=size, replace=False))
        lines = [RETURN_HEADER]
        when = f"{day:%Y-%m-%d}T11:00:00+03:00"
        owners = self.owners_now(returned)
        for row, (number, owner, holder) in enumerate(
            zip(returned, owners, self.holders(returned), strict=True)
        ):
            code, mnc = self.orgs[holder][0], self.orgs[holder][1] or "00"
            lines.append(
                f"{sequence * 10_000_000 + row},{number:010d},{self.orgs[owner][0]},{code},{mnc},"
                f"D0001,D0002,77,{when}," + (str(len(returned)) if row == 0 else "")
            )
        path = self.outdir / f"Return_Increment_{stamp}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.record(returned, None)
        return path


def _write_rows(
    out: IO[bytes], numbers: npt.NDArray[np.uint64], owners: npt.NDArray[np.int64], suffixes: list[bytes]
) -> None:
    """Rows as one byte matrix (10 digits, then the owner's suffix, zero-padded), padding squeezed out."""
    width = 10 + max(len(suffix) for suffix in suffixes)
    table = np.zeros((len(suffixes), width - 10), dtype=np.uint8)
    for index, suffix in enumerate(suffixes):
        table[index, : len(suffix)] = np.frombuffer(suffix, dtype=np.uint8)
    rows = np.zeros((len(numbers), width), dtype=np.uint8)
    value = numbers.copy()
    for column in range(9, -1, -1):
        rows[:, column] = (value % np.uint64(10)).astype(np.uint8) + 48
        value //= np.uint64(10)
    rows[:, 10:] = table[owners]
    out.write(rows[rows != 0].tobytes())
