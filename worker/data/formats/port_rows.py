"""The rows of MNP port files (snapshots, increments, returns) as numpy blocks of (number, operator id).

A snapshot is tens of millions of rows, so a file is read in 8 MB blocks parsed with numpy: the newline and
comma positions first, then the 10-digit numbers and owner ids as vector operations; each distinct owner id
of a block is looked up once. ``RowCount`` (first data row only) is checked against the rows read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Final

import numpy as np
import numpy.typing as npt

from worker.data.formats.mnp import Kind, MnpFile
from worker.errors import MalformedInput

CHUNK: Final = 1 << 23  # 8 MB: the temporaries of a block stay small
MAX_LINE: Final = 1 << 16  # bytes; a real row is ~45-120 bytes, so a longer "line" is not an MNP file
OWNER_WIDTH: Final = 24  # longest owner id read (three packed uint64 words)
REMOVE: Final = 0xFFFF  # the operator id of a row that returns a number to its range holder

# kind → (owner column or None for returns, MNC column)
_PORT_COLUMNS: Final = {
    Kind.SNAPSHOT: ("OwnerId", "MNC"),
    Kind.PORT: ("RecipientId", "NewMNC"),
    Kind.RETURN: (None, "RangeHolderMNC"),
}

OwnerLookup = Callable[[str, str], int | None]  # (owner id, MNC) → operator id


def read_port_rows(
    file: MnpFile, owner_of: OwnerLookup
) -> Iterator[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint16]]]:
    """Blocks of (national number, operator id) for every row; return rows carry :data:`REMOVE`."""
    owner_column, mnc_column = _PORT_COLUMNS[file.kind]
    number_at = file.columns.index("Number")
    owner_at = file.columns.index(owner_column) if owner_column else None
    mnc_at = file.columns.index(mnc_column)
    expected: int | None = None
    rows = 0
    first = True
    with file.open() as stream:
        stream.readline()  # header
        for block, first_line in _blocks(file.name, stream):
            parsed = _Block(file.name, block, first_line)
            if not parsed.count:
                continue
            if first:
                expected, first = parsed.row_count(file.columns), False
            numbers = parsed.numbers(number_at)
            if owner_at is None:
                owners = np.full(parsed.count, REMOVE, dtype=np.uint16)
            else:
                owners = parsed.owners(owner_at, mnc_at, owner_of)
            rows += parsed.count
            yield numbers, owners
    if expected is not None and rows != expected:
        raise MalformedInput(file.name, rows + 2, f"RowCount says {expected} rows, the file has {rows}")


def _blocks(name: str, stream: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines and the file line number of each block's first line (the header is line 1)."""
    line = 2
    rest = b""
    while True:
        data = stream.read(CHUNK)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        if len(rest) > MAX_LINE:  # memory stays bounded: /dev/zero or a binary file is refused here
            raise MalformedInput(name, line, f"a line longer than {MAX_LINE:,} bytes: not an MNP file")
        if block:
            yield block, line
            line += block.count(b"\n")
    if rest.strip():
        yield rest + b"\n", line


class _Block:
    """One block of lines as a byte array, with the positions of every line and comma."""

    def __init__(self, name: str, block: bytes, first_line: int) -> None:
        if b"\r" in block:
            block = block.replace(b"\r", b"")
        self.name = name
        self.buf = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(self.buf == 10)
        starts = np.empty_like(ends)
        starts[0:1] = 0
        starts[1:] = ends[:-1] + 1
        filled = ends > starts
        self.line_numbers = np.flatnonzero(filled) + first_line
        self.starts, self.ends = starts[filled], ends[filled]
        self.commas = np.flatnonzero(self.buf == 44)
        self.first_comma = np.searchsorted(self.commas, self.starts)
        self.count = len(self.starts)

    def fail(self, row: int, reason: str) -> MalformedInput:
        return MalformedInput(self.name, int(self.line_numbers[row]), reason)

    def field(self, column: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Start and end (exclusive) of one column in every line."""
        last = self.first_comma + column
        if not len(self.commas):
            raise self.fail(0, f"fewer than {column + 2} fields")
        short = (last >= len(self.commas)) | (
            self.commas[np.minimum(last, len(self.commas) - 1)] >= self.ends
        )
        if short.any():
            raise self.fail(int(np.argmax(short)), f"fewer than {column + 2} fields")
        ends = self.commas[last]
        starts = self.starts if column == 0 else self.commas[last - 1] + 1
        return starts, ends

    def text(self, row: int, column: int) -> str:
        starts, ends = self.field(column)
        return bytes(self.buf[starts[row] : ends[row]]).decode("utf-8", errors="replace")

    def row_count(self, columns: tuple[str, ...]) -> int | None:
        """The ``RowCount`` of the first data row (``None`` when absent)."""
        if "RowCount" not in columns:
            return None
        index = columns.index("RowCount")
        fields = bytes(self.buf[self.starts[0] : self.ends[0]]).decode("utf-8", errors="replace").split(",")
        value = fields[index].strip() if len(fields) > index else ""
        if value and not value.isdigit():
            raise self.fail(0, f"RowCount {value!r} is not a number")
        return int(value) if value else None

    def numbers(self, column: int) -> npt.NDArray[np.uint64]:
        starts, ends = self.field(column)
        bad = (ends - starts) != 10
        value = np.zeros(self.count, dtype=np.uint64)
        for offset in range(10):
            digit = self.buf[np.minimum(starts + offset, len(self.buf) - 1)] - np.uint8(48)
            bad |= digit > 9
            value = value * np.uint64(10) + digit
        if bad.any():
            row = int(np.argmax(bad))
            raise self.fail(row, f"Number {self.text(row, column)!r} is not 10 digits")
        return value

    def owners(self, column: int, mnc_column: int, owner_of: OwnerLookup) -> npt.NDArray[np.uint16]:
        starts, ends = self.field(column)
        widths = ends - starts
        bad = (widths < 1) | (widths > OWNER_WIDTH)
        if bad.any():
            row = int(np.argmax(bad))
            raise self.fail(row, f"owner id {self.text(row, column)!r} is empty or too long")
        words = [np.zeros(self.count, dtype=np.uint64) for _ in range(OWNER_WIDTH // 8)]
        last = len(self.buf) - 1
        for offset in range(OWNER_WIDTH):
            byte = np.where(offset < widths, self.buf[np.minimum(starts + offset, last)], 0).astype(np.uint64)
            slot = offset // 8
            words[slot] = (words[slot] << np.uint64(8)) | byte
        digest = (
            words[0] * np.uint64(0x9E3779B97F4A7C15) ^ words[1] * np.uint64(0xC2B2AE3D27D4EB4F) ^ words[2]
        )
        unique, first, inverse = np.unique(digest, return_index=True, return_inverse=True)
        for packed in words:  # the digest only groups rows; prove every row equals its group's first row
            if (packed != packed[first][inverse]).any():
                raise self.fail(0, "owner ids collide in the block digest; please report this file")
        table = np.empty(len(unique), dtype=np.uint16)
        for group, row in enumerate(first):
            owner = self.text(int(row), column).strip()
            operator = owner_of(owner, self.text(int(row), mnc_column).strip())
            if operator is None:
                raise self.fail(int(row), f"owner {owner!r} is in no Operators file")
            table[group] = operator
        return table[inverse]
