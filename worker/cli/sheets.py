"""Reading the CRM exports ``numlookup enrich`` takes: CSV in any encoding and delimiter the registry files
use (UTF-8 with or without BOM, cp1251; ``;``, ``,``, tab, ``|``) and XLSX, as rows of text, streamed.

Nothing is dropped: a row whose quoting is broken (an unclosed ``"``) is re-read split on the delimiter
alone and marked, and the rows after it are read normally; an undecodable byte becomes U+FFFD.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from worker.errors import InvalidNumber, MalformedInput
from worker.numbers import parse

BLOCK: Final = 1 << 20
DELIMITERS: Final = ";,\t|"
MAX_RECORD_LINES: Final = 50  # a quoted field longer than this is taken for an unclosed quote
SAMPLE_ROWS: Final = 200  # rows read to find the phone column by its content
BROKEN_QUOTING: Final = "broken quoting: fields split on the delimiter"
_PHONE_HEADER: Final = re.compile(r"phone|tel|mobile|msisdn|number|^num$|тел|номер|моб|сотов", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CsvFormat:
    encoding: str  # "utf-8" or "cp1251"
    bom: bool
    delimiter: str
    lines: int  # line breaks in the file: the progress bar's total


@dataclass(slots=True)
class Batch:
    """Consecutive rows of a file, and why some of them (by index in ``rows``) could not be read as CSV."""

    rows: list[list[str]]
    broken: dict[int, str]


def sniff_csv(path: Path) -> CsvFormat:
    """Encoding (BOM, else UTF-8 if every byte is, else cp1251), delimiter (the most frequent candidate in
    the first line) and line count, in one pass over the bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    lines = 0
    first = b""
    with open(path, "rb") as source:
        while block := source.read(BLOCK):
            if not first:
                first = block[: block.find(b"\n") if b"\n" in block else len(block)]
            lines += block.count(b"\n")
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    bom = first.startswith(codecs.BOM_UTF8)
    encoding = "utf-8" if utf8 or bom else "cp1251"
    header = first.decode(encoding, errors="replace")
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda candidate: counts[candidate])  # ties: the earlier candidate
    if counts[delimiter] == 0:
        delimiter = ";"  # one column: the delimiter never shows; write the registry's
    return CsvFormat(encoding, bom, delimiter, lines)


def read_csv(path: Path, form: CsvFormat, size: int) -> Iterator[Batch]:
    """The file's rows in batches of about ``size``; the csv module parses whole blocks of lines, and a
    record it cannot parse is found by its line numbers and re-read alone."""
    encoding = "utf-8-sig" if form.bom else form.encoding
    with open(path, encoding=encoding, errors="replace", newline="") as text:
        pending: list[str] = []
        final = False
        while not final:
            block = text.readlines(BLOCK)
            final = not block
            pending.extend(block)
            batch, used = _parse(pending, form.delimiter, final)
            del pending[:used]
            while len(batch.rows) > size:  # a block of short lines: hand it on in pieces
                head = Batch(batch.rows[:size], {k: v for k, v in batch.broken.items() if k < size})
                batch = Batch(batch.rows[size:], {k - size: v for k, v in batch.broken.items() if k >= size})
                yield head
            if batch.rows:
                yield batch


def _parse(lines: list[str], delimiter: str, final: bool) -> tuple[Batch, int]:
    """Rows of ``lines`` and how many lines they used: a record still open at the end is left for the next
    block unless ``final`` or longer than :data:`MAX_RECORD_LINES` (then it is broken)."""
    batch = Batch([], {})
    start = 0  # first line of the record being read
    while True:
        reader = csv.reader(iter(lines[start:]) if start else iter(lines), delimiter=delimiter, strict=True)
        base = start
        try:
            for fields in reader:
                if reader.line_num - (start - base) > MAX_RECORD_LINES:  # a runaway quote that closed
                    raise csv.Error("record too long")
                batch.rows.append(fields)
                start = base + reader.line_num
            return batch, len(lines)
        except csv.Error:
            end = base + reader.line_num
            if not final and end >= len(lines) and end - start <= MAX_RECORD_LINES:
                return batch, start  # a quoted field going on in the next block
            batch.broken[len(batch.rows)] = BROKEN_QUOTING
            batch.rows.append(lines[start].rstrip("\r\n").split(delimiter))
            start += 1


def read_xlsx(path: Path, size: int) -> tuple[int | None, Iterator[Batch]]:
    """The first sheet's row count (as the file states it, if it does) and its rows as text (openpyxl
    read-only: one row in memory at a time)."""
    from openpyxl import load_workbook  # imported on use: only XLSX inputs need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:  # openpyxl raises zipfile, KeyError, ValueError... for a file that is no XLSX
        raise MalformedInput(path, 0, f"cannot read as XLSX: {error}") from error

    def batches() -> Iterator[Batch]:
        try:
            rows = ([cell_text(value) for value in values] for values in sheet.iter_rows(values_only=True))
            while batch := list(itertools.islice(rows, size)):
                yield Batch(batch, {})
        finally:
            book.close()

    total = sheet.max_row
    return (total if isinstance(total, int) else None), batches()


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a user sees: 79170415564, not 79170415564.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def is_number(text: str) -> bool:
    digits = sum(char.isdigit() for char in text)
    if not 10 <= digits <= 15:
        return False
    try:
        parse(text)
    except InvalidNumber:
        return False
    return True


def phone_column(header: list[str] | None, sample: list[list[str]], wanted: str | None) -> int:
    """The index of the phone column: ``wanted`` (a header name or a 1-based number), else the column whose
    header reads like a phone's, else the one whose sample cells are most often phone numbers."""
    if wanted is not None:
        if header is not None and wanted in header:
            return header.index(wanted)
        if wanted.isdigit() and int(wanted) >= 1:
            return int(wanted) - 1
        known = ", ".join(header) if header else "none: the file has no header"
        raise ValueError(f"no column {wanted!r} (columns: {known})")
    scores: dict[int, int] = {}
    for fields in sample:
        for index, cell in enumerate(fields):
            if is_number(cell):
                scores[index] = scores.get(index, 0) + 1
    if header is not None:
        named = [index for index, name in enumerate(header) if _PHONE_HEADER.search(name)]
        if named:
            best = max(named, key=lambda index: scores.get(index, 0))
            if scores.get(best, 0) or not scores:  # "Номер договора" holding no phone loses to one that does
                return best
    if not scores:
        raise ValueError("no column holds phone numbers; name it with --column")
    return max(scores, key=lambda index: (scores[index], -index))


def looks_like_header(first: list[str]) -> bool:
    """A first row none of whose cells is a phone number is a header."""
    return not any(is_number(cell) for cell in first)
