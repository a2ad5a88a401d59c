"""The typed answer of a lookup: what the engine returns and every front end renders.

The engine returns one of three answers: :class:`RussianAnswer` (from the registry and MNP data),
:class:`ForeignAnswer` (from libphonenumber) or :class:`NotFound`. Front ends never build answers; they only
render them (:mod:`worker.answer.voxlink` for HTTP and the CLI, :mod:`worker.answer.dialplan` for AMI and
FastAGI), so an answer reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from worker.answer.translit import latin

# Where an answer's operator came from (X-Numlookup-Source, NUM_SOURCE): the numbering registry (or, abroad,
# libphonenumber's numbering plans), the local MNP data, an upstream MNP source now, or its cached answer.
REGISTRY: Final = "registry"
MNP: Final = "mnp"
UPSTREAM: Final = "upstream"
CACHE: Final = "cache"

RUSSIA_CC: Final = 7
RUSSIA_ISO: Final = "RU"


@dataclass(frozen=True, slots=True)
class LineType:
    id: str  # "MOB", "FIX", "TF", ...
    description: str  # "mobile", "geographic", "toll free", ...


MOBILE: Final = LineType("MOB", "mobile")
GEOGRAPHIC: Final = LineType("FIX", "geographic")
TOLL_FREE: Final = LineType("TF", "toll free")
PREMIUM_RATE: Final = LineType("PRM", "premium rate")
UAN: Final = LineType("UAN", "universal access number")
PERSONAL: Final = LineType("PN", "personal number")
LINE_TYPES: Final[tuple[LineType, ...]] = (GEOGRAPHIC, MOBILE, TOLL_FREE, PREMIUM_RATE, UAN, PERSONAL)

# Russia's numbering plan (Приказ Мининформсвязи № 142 of 17.11.2006, as amended) fixes the type by code:
# 9xx mobile; 800 and 804 free for the caller; 803 (televoting) and 809 at an extra charge; 808 universal
# personal numbers; the other 80x codes reach intelligent-network services at the caller's usual rate; every
# other code (3xx, 4xx, 81x-89x) is a geographic zone. libphonenumber classifies 800/804/803/809/808 alike.
_NON_GEOGRAPHIC: Final = {800: TOLL_FREE, 804: TOLL_FREE, 803: PREMIUM_RATE, 809: PREMIUM_RATE, 808: PERSONAL}


def russian_line_type(code: int) -> LineType:
    """The line type of a Russian ABC/DEF code (the first three digits after +7)."""
    if 900 <= code <= 999:
        return MOBILE
    if 800 <= code <= 809:
        return _NON_GEOGRAPHIC.get(code, UAN)
    return GEOGRAPHIC


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator from the registry, keyed by its ИНН (``inn``; empty for the oldest files without one)."""

    inn: str
    name: str  # legal name as the registry spells it, in readable case: 'ПАО "МегаФон"'
    brand: str  # what users call it: "МегаФон"

    @property
    def brand_latin(self) -> str:
        return latin(self.brand)


@dataclass(frozen=True, slots=True)
class Allocation:
    """One registry range: ``7`` + ``code`` + [start..end] belongs to ``operator`` in ``region``."""

    code: str  # 3 digits
    start: int  # 10-digit national number, inclusive
    end: int
    operator: Operator
    region: str  # the federal subject (worker.subjects), a joint area, or "Российская Федерация"
    line_type: LineType
    locality: str | None = None  # "г. Казань", "р-н Аургазинский": where inside the subject, if known

    @property
    def location(self) -> str:
        """What v2 ``location`` shows (transliterated): the locality when there is one, else the subject."""
        return self.locality or self.region

    @property
    def cns(self) -> int:
        """The longest prefix (with the country code) that every number of the range shares."""
        first, last = f"{self.start:010d}", f"{self.end:010d}"
        shared = 3
        while shared < 10 and first[shared] == last[shared]:
            shared += 1
        return int("7" + first[:shared])


@dataclass(slots=True)  # not frozen: built on every lookup, and frozen __init__ costs twice as much
class RussianAnswer:
    national: str  # the 10 digits after +7
    allocation: Allocation
    ported_to: Operator | None = None  # the MNP recipient when the number left its range holder
    # Set when an upstream MNP source decided ``ported_to``: UPSTREAM when asked for this answer, CACHE
    # when its earlier answer was reused. None: the local data did (REGISTRY or MNP).
    via: str | None = None

    @property
    def source(self) -> str:
        return self.via or (MNP if self.ported_to is not None else REGISTRY)

    @property
    def operator(self) -> Operator:
        return self.ported_to or self.allocation.operator

    @property
    def old_operator(self) -> Operator | None:
        return self.allocation.operator if self.ported_to is not None else None


@dataclass(frozen=True, slots=True)
class ForeignAnswer:
    digits: str  # international digits, country code first
    country_code: int
    destination: str  # English country name, ASCII
    region_iso: str  # ISO 3166-1 alpha-2 of the number's own region ("AX", not "FI")
    line_type: LineType
    location: str | None
    carrier: str | None
    cns: int
    min_length: int  # digits including the country code
    max_length: int
    timezones: tuple[str, ...] = ()  # libphonenumber's IANA zones for the number


@dataclass(frozen=True, slots=True)
class NotFound:
    digits: str


Answer = RussianAnswer | ForeignAnswer | NotFound


def source_of(answer: Answer) -> str:
    """Where ``answer``'s operator came from (one of the four constants above)."""
    return answer.source if isinstance(answer, RussianAnswer) else REGISTRY
