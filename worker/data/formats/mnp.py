"""The MNP (БДПН) files: which kind each is, the order they apply in, finding them, and the Operators lists.

A file is told by its header (see ``docs/data.md``) or, where it must be told before it is read (mnp-sync),
by its name: both say one :class:`Kind`, and :func:`file_order` is the one order files apply in. Files are
plain CSV or CSV inside zips; rows are comma-separated, ``RowCount`` only on the first data row. The rows of
port files (snapshots, increments, returns) are read by :mod:`worker.data.formats.port_rows`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Final

from worker.data.formats.text import decode, read_limited
from worker.errors import BadFiles, MalformedInput

MAX_OPERATORS_FILE: Final = 16 * 2**20  # bytes; a real Operators file is a few hundred rows, ~50 KB


class Kind(StrEnum):
    """What an MNP file holds; the order of the members is the order files of one date apply in."""

    OPERATORS = "operators"  # owner ids and MNCs → ИНН
    SNAPSHOT = "snapshot"  # Port_All, Port_All_Full: the whole ported set
    PORT = "port_increment"
    RETURN = "return_increment"


_RANK: Final = {kind: rank for rank, kind in enumerate(Kind)}
_NAME: Final = re.compile(
    r"^(?P<prefix>Port_All(?:_Full)?|Port_Increment|Return_Increment|Operators)", re.IGNORECASE
)


def file_order(name: str, kind: Kind) -> tuple[tuple[int, ...], int]:
    """How MNP files sort: the digit groups of the file name (date, sequence), then :class:`Kind` order.

    ``Port_Increment_20260105_0002.csv`` → ((20260105, 2), 2): a snapshot before the increments of its date,
    ``Port_Increment`` before ``Return_Increment``.
    """
    return tuple(int(group) for group in re.findall(r"\d+", name)), _RANK[kind]


def kind_from_name(name: str) -> Kind | None:
    """The kind a file name announces (``Port_All_Full_20260101.csv.zip`` → snapshot), or ``None``."""
    match = _NAME.match(name)
    if match is None:
        return None
    prefix = match["prefix"].lower()
    return Kind.SNAPSHOT if prefix.startswith("port_all") else Kind(prefix)


def kind_from_header(columns: tuple[str, ...]) -> Kind | None:
    """The kind a file's header columns say, or ``None`` for a file that is not an MNP file."""
    names = set(columns)
    if {"OrgCode", "TIN", "OrgName"} <= names:
        return Kind.OPERATORS
    if {"Number", "RecipientId", "NewMNC"} <= names:
        return Kind.PORT
    if {"Number", "RangeHolderId", "RangeHolderMNC"} <= names and "RecipientId" not in names:
        return Kind.RETURN
    if {"Number", "OwnerId", "MNC"} <= names:
        return Kind.SNAPSHOT
    return None


@dataclass(frozen=True)
class MnpFile:
    """One MNP file to read: a plain CSV or a CSV inside a zip, its kind and columns told by its header."""

    path: Path
    member: str | None  # the CSV inside a zip, or None for a plain file
    kind: Kind
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return _display_name(self.path, self.member)

    @property
    def order(self) -> tuple[tuple[int, ...], int]:
        return file_order(Path(self.member or self.path.name).name, self.kind)

    def open(self) -> IO[bytes]:
        return _open(self.path, self.member)


def _display_name(path: Path, member: str | None) -> str:
    return f"{path}:{member}" if member else str(path)


def _open(path: Path, member: str | None) -> IO[bytes]:
    if member is None:
        return open(path, "rb")
    archive = zipfile.ZipFile(path)
    return _ClosingMember(archive, archive.open(member))


class _ClosingMember(io.BufferedReader):
    def __init__(self, archive: zipfile.ZipFile, member: IO[bytes]) -> None:
        super().__init__(member)  # type: ignore[arg-type]
        self._archive = archive

    def close(self) -> None:
        super().close()
        self._archive.close()


def discover(paths: list[Path]) -> list[MnpFile]:
    """Every MNP file under ``paths`` (files, directories, zips), in the order they apply.

    Every file that is not one is reported at once (:class:`BadFiles`, one line each).
    """
    found: list[MnpFile] = []
    bad: list[MalformedInput] = []
    for path in paths:
        entries = sorted(path.iterdir()) if path.is_dir() else [path]
        for entry in entries:
            try:
                if entry.suffix.lower() == ".zip":
                    found.extend(_zip_members(entry))
                elif entry.suffix.lower() == ".csv" or not path.is_dir():
                    found.append(_identify(entry, None))
            except MalformedInput as error:
                bad.append(error)
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise BadFiles(bad)
    return sorted(found, key=lambda file: file.order)


def _zip_members(path: Path) -> list[MnpFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
    except (OSError, zipfile.BadZipFile) as error:
        raise MalformedInput(path, 0, f"not a readable zip file: {error}") from error
    if not members:
        raise MalformedInput(path, 0, "no .csv file in this zip")
    return [_identify(path, member) for member in members]


def _identify(path: Path, member: str | None) -> MnpFile:
    try:
        with _open(path, member) as stream:
            header = stream.readline(4096).decode("utf-8-sig", errors="replace").strip()
    except OSError as error:
        raise MalformedInput(path, 0, f"cannot read: {error.strerror or error}") from error
    columns = tuple(column.strip() for column in header.split(","))
    kind = kind_from_header(columns)
    if kind is None:
        raise MalformedInput(
            _display_name(path, member), 1, f"not an MNP file: unexpected header {header[:120]!r}"
        )
    return MnpFile(path, member, kind, columns)


@dataclass(frozen=True)
class OperatorRow:
    org_code: str
    mnc: str
    tin: str
    name: str


def read_operators(file: MnpFile) -> list[OperatorRow]:
    with file.open() as stream:
        raw = read_limited(file.name, stream, MAX_OPERATORS_FILE, "Operators file")
    text = decode(file.name, raw)
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        code, tin = (row.get("OrgCode") or "").strip(), (row.get("TIN") or "").strip()
        if not code or not (tin.isdigit() and len(tin) in (10, 12)):
            raise MalformedInput(file.name, reader.line_num, f"needs OrgCode and a 10/12-digit TIN: {row}")
        rows.append(
            OperatorRow(code, (row.get("MNC") or "").strip(), tin, (row.get("OrgName") or "").strip())
        )
    return rows
