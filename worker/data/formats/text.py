"""Reading a whole text file of the official data safely: bounded in size, and decoded or refused clearly.

The registry and the MNP ``Operators`` files are UTF-8 (with or without a BOM) or, before 2019, cp1251. A file
that is neither — cut inside a UTF-8 character, damaged, or not text at all — is refused with the line and
byte offset of the first bad byte (:class:`~worker.errors.MalformedInput`), never a ``UnicodeDecodeError``.
Which encoding a file meant is told by its first line: the registry's header is Cyrillic, so a first line
with Cyrillic letters in valid UTF-8 makes it a UTF-8 file, whose bad bytes are then reported as such rather
than read as cp1251 mojibake.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Final

from worker.errors import MalformedInput

_BOM: Final = b"\xef\xbb\xbf"
_SNIFF: Final = 64 * 1024  # bytes searched for a NUL (binary data) before decoding


def read_limited(path: Path | str, stream: IO[bytes], limit: int, what: str) -> bytes:
    """All of ``stream``, refusing (without reading further) anything larger than ``limit`` bytes."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise MalformedInput(
            path, 0, f"larger than {limit // 2**20:,} MB, far beyond any real {what}: refused unread"
        )
    return raw


def line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def decode(path: Path | str, raw: bytes) -> str:
    """The file's text (see the module docstring); :class:`MalformedInput` if it is not text."""
    nul = raw.find(b"\0", 0, _SNIFF)
    if nul >= 0:
        raise MalformedInput(
            path, line_of(raw, nul), f"binary data (a NUL byte at byte {nul}), not a CSV file"
        )
    bom = raw.startswith(_BOM)
    try:
        return raw[len(_BOM) :].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError as error:
        utf8 = error
    offset = utf8.start + (len(_BOM) if bom else 0)
    if bom or _utf8_cyrillic(raw):
        cut = " (the file ends inside a character: cut short?)" if utf8.end >= len(utf8.object) else ""
        raise MalformedInput(
            path, line_of(raw, offset), f"not valid UTF-8: byte 0x{raw[offset]:02x} at byte {offset}{cut}"
        ) from None
    try:
        return raw.decode("cp1251")
    except UnicodeDecodeError as error:
        where = f"byte 0x{raw[error.start]:02x} at byte {error.start}"
        reason = (
            f"{where} is neither UTF-8 nor cp1251"
            if error.start == offset
            else f"neither UTF-8 (byte 0x{raw[offset]:02x} at byte {offset}) nor cp1251 ({where})"
        )
        raise MalformedInput(path, line_of(raw, error.start), reason) from None


def _utf8_cyrillic(raw: bytes) -> bool:
    end = raw.find(b"\n")
    first = raw[: end if end >= 0 else _SNIFF].decode("utf-8", errors="replace")
    return any("\u0400" <= char <= "\u04ff" for char in first)
