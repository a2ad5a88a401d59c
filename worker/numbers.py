"""What users type → the digits of an international number.

Accepted (see docs/contract.md): ``+74959898533``, ``74959898533``, ``84959898533``, ``4959898533``, with
spaces, dashes, dots or brackets between digits; a ``+`` that arrived unencoded in a query string (a leading
space); international numbers as ``+<cc>…``, ``<cc>…``, ``00<cc>…`` or ``810<cc>…``.
The result is the number's digits with the country code and no ``+`` (``"74959898533"``): that one string is
what the engine, the caches and every renderer work with.
"""

from __future__ import annotations

from typing import Final

from worker.errors import InvalidNumber

MAX_DIGITS: Final = 15  # E.164
KAZAKHSTAN_CODES: Final = "67"  # first digit of the +7 area codes that are Kazakhstan's
_SEPARATORS: Final = str.maketrans("", "", " \t-.()\u00a0")


def parse(raw: str) -> str:
    """Return the international digits of ``raw`` or raise :class:`InvalidNumber`."""
    return russian_digits(raw) or _parse_slow(raw)


def russian_digits(raw: str) -> str | None:
    """:func:`parse`'s answer for what dialplans and CRMs send most, 11 bare digits starting with 7 or 8
    (``"7…"``, without building a new string for a 7), else ``None``: the rest is parsed the slow way."""
    if len(raw) == 11 and raw.isascii() and raw.isdigit():
        first = raw[0]
        if first == "7":
            return raw
        if first == "8":
            return "7" + raw[1:]
    return None


def _parse_slow(raw: str) -> str:
    text = raw.strip()
    plus = text.startswith("+")
    digits = (text[1:] if plus else text).translate(_SEPARATORS)
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise InvalidNumber(raw)
    if not plus:
        digits = _international(digits)
    if len(digits) > MAX_DIGITS:
        raise InvalidNumber(raw, "too many digits")
    return digits


def _international(digits: str) -> str:
    """Resolve the prefixes a number typed without ``+`` may carry."""
    if digits.startswith("00"):
        return digits[2:] or "0"
    if digits.startswith("810") and len(digits) > 11:
        return digits[3:]
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    if len(digits) == 10:
        return "7" + digits
    return digits


def is_russian(digits: str) -> bool:
    """Whether international ``digits`` (from :func:`parse`) are Russian: +7, 11 digits, not Kazakhstan's."""
    return len(digits) == 11 and digits[0] == "7" and digits[1] not in KAZAKHSTAN_CODES


def is_kazakh(digits: str) -> bool:
    """Whether international ``digits`` are Kazakhstan's: +7 6xx and +7 7xx share Russia's country code."""
    return len(digits) == 11 and digits[0] == "7" and digits[1] in KAZAKHSTAN_CODES
