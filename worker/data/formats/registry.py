"""Readers for every generation of the numbering registry (see ``docs/data.md``).

=============  =====================================================================  ==================
generation     header                                                                 encoding
=============  =====================================================================  ==================
2024 → now     ``АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН``          UTF-8, BOM or not
2022–2024      ``АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН``                         UTF-8, BOM or not
2019–2022      ``АВС/ DEF;От;До;Емкость;Оператор;Регион``                             UTF-8
before 2019    as 2019–2022, ``Kody_*.csv``; fields may be tab-padded or CSV-quoted   cp1251
=============  =====================================================================  ==================

The generation is told by the header's columns, the encoding by the bytes (a BOM, else strict UTF-8, else
cp1251; :mod:`worker.data.formats.text` refuses a file that is neither, or larger than :data:`MAX_FILE`).
Rows are split on ``;`` only: operator names hold bare ``"`` inside unquoted fields. A row that cannot be read
raises :class:`~worker.errors.MalformedInput` with the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

from worker.data.formats.names import unquote_field
from worker.data.formats.text import decode, read_limited
from worker.errors import MalformedInput

TAIL: Final = 10_000_000  # numbers per 3-digit code
MAX_FILE: Final = 256 * 2**20  # bytes; the largest real registry file is ~15 MB
_BASE_COLUMNS: Final = ("abc/def", "от", "до", "емкость", "оператор", "регион")
_GENERATIONS: Final = {
    (*_BASE_COLUMNS, "территория гар", "инн"): "8-col",
    (*_BASE_COLUMNS, "инн"): "7-col",
    _BASE_COLUMNS: "6-col",
}


class RegistryRow(NamedTuple):
    start: int  # national 10-digit number, inclusive
    end: int
    operator: str  # the name as spelled in the file
    region: str  # `Регион`, or `Территория ГАР` where `Регион` is `-`; still `|`-joined
    inn: str  # "" in files without an ИНН column
    line: int
    gar: str = ""  # `Территория ГАР` ("" before 2024): where the subject is found when `Регион` lacks it

    @property
    def code(self) -> int:
        """The ABC/DEF code (the first three national digits)."""
        return self.start // TAIL


def _header_key(column: str) -> str:
    return column.strip().lower().replace("ё", "е").replace(" ", "")


def generation(path: Path, header: str) -> str:
    columns = [_header_key(column) for column in header.split(";")]
    if columns:  # "АВС" is written in Cyrillic letters; accept Latin ones too
        columns[0] = columns[0].translate(str.maketrans("авс", "abc"))
    for known, name in _GENERATIONS.items():
        if tuple(columns) == tuple(_header_key(column) for column in known):
            return name
    raise MalformedInput(path, 1, f"not a numbering-registry file: unexpected header {header[:120]!r}")


def read_registry(path: Path) -> Iterator[RegistryRow]:
    """Every range of one registry file, in file order."""
    try:
        with open(path, "rb") as stream:
            raw = read_limited(path, stream, MAX_FILE, "registry file")
    except OSError as error:
        raise MalformedInput(path, 0, f"cannot read: {error.strerror or error}") from error
    lines = decode(path, raw).split("\n")
    kind = generation(path, lines[0].rstrip("\r"))
    width = {"8-col": 8, "7-col": 7, "6-col": 6}[kind]
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split(";")
        if len(fields) != width:
            raise MalformedInput(path, number, f"{len(fields)} fields, expected {width}")
        yield _row(path, number, fields, width)


def _row(path: Path, number: int, fields: list[str], width: int) -> RegistryRow:
    try:
        code, start, end, capacity = (int(fields[index]) for index in range(4))
    except ValueError:
        shown = ";".join(fields[:4])
        raise MalformedInput(path, number, f"code, От, До and Емкость must be numbers: {shown!r}") from None
    if not 300 <= code <= 999 or not 0 <= start <= end < TAIL:
        raise MalformedInput(path, number, f"bad range {code} {start}..{end}")
    if capacity != end - start + 1:
        raise MalformedInput(path, number, f"Емкость {capacity} is not До − От + 1 = {end - start + 1}")
    operator = unquote_field(fields[4].strip())
    region = fields[5].strip()
    gar = fields[6].strip() if width == 8 else ""
    if width == 8 and region in ("-", ""):
        region = gar
    inn = fields[width - 1].strip() if width >= 7 else ""
    if not operator or not region or region == "-":
        raise MalformedInput(path, number, "empty operator or region")
    if inn and not (inn.isdigit() and len(inn) in (10, 12)):
        raise MalformedInput(path, number, f"ИНН {inn!r} is not 10 or 12 digits")
    base = code * TAIL
    return RegistryRow(base + start, base + end, operator, region, inn, number, gar)


def registry_files(paths: list[Path]) -> list[Path]:
    """Files as given, directories expanded to the ``*.csv`` files in them (sorted by name)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(entry for entry in path.iterdir() if entry.suffix.lower() == ".csv")
            if not found:
                raise MalformedInput(path, 0, "no .csv files in this directory")
            files.extend(found)
        else:
            files.append(path)
    return files
