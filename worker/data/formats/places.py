"""Where a registry range is: its federal subject and its locality, from ``Регион`` and ``Территория ГАР``.

A fixed line's ``Регион`` is usually ``locality|subject`` (``г. Казань|Республика Татарстан``, ``р-н
Аургазинский|Республика Башкортостан``; the 2014 files: ``Абаза |Таштыпский |Республика Хакасия``), a
mobile range's just the subject, spelled one of many ways. :func:`place` splits a value into

- ``subject``: the canonical region of :mod:`worker.subjects` (a subject, a joint area such as ``г. Москва и
  Московская область``, or ``Российская Федерация``), found in ``Регион``, else in ``Территория ГАР``
  (``г.о. Новоуральский`` names no subject; its ГАР ``г.о. Новоуральский|Свердловская область`` does);
- ``locality``: the first other part (``г. Казань``), readable; parts naming a municipal formation
  (``г.о. город Казань``, ``м.р-н Аургазинский``) only when nothing else is there, and then as the
  settlement or district they name (``г. Казань``, ``р-н Аургазинский``).

A value that names no subject is kept as it is (readable, ``|`` read as ``, ``) with ``mapped`` false: the
import counts those and never drops the row.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, NamedTuple

from worker.data.formats.names import readable_region_part
from worker.subjects import match

_MUNICIPAL_PREFIXES: Final = ("г.о.", "м.р-н", "м.о.", "г.п.", "с.п.", "муниципальн", "городской округ")
_MUNICIPAL_SUFFIXES: Final = (" м.о.", " городской округ", " муниципальный округ", " муниципальный район")
# A municipal formation named after its centre: what the settlement or district itself is called.
_MUNICIPAL_NAMES: Final = ((re.compile(r"^г\.о\. город "), "г. "), (re.compile(r"^м\.р-н "), "р-н "))


class Place(NamedTuple):
    subject: str  # canonical region, or the registry's value when ``mapped`` is false
    locality: str | None
    mapped: bool


def _parts(value: str) -> list[str]:
    parts: list[str] = []
    for raw in value.split("|"):
        part = readable_region_part(raw.replace(" * ", " и "))
        if part and part not in parts:
            parts.append(part)
    return parts


def _is_municipal(part: str) -> bool:
    lower = part.lower()
    return lower.startswith(_MUNICIPAL_PREFIXES) or lower.endswith(_MUNICIPAL_SUFFIXES)


def _settlement(part: str) -> str:
    for pattern, replacement in _MUNICIPAL_NAMES:
        part = pattern.sub(replacement, part)
    return part


def _subject(parts: list[str]) -> tuple[str, int] | None:
    """The region the parts name and the index of the part naming it: the first current subject, else
    the first former one (``Корякский округ|Камчатский край`` → Камчатский край, by its own name)."""
    former: tuple[str, int] | None = None
    for index, part in enumerate(parts):
        found = match(part)
        if found is None:
            continue
        if not found[1]:
            return found[0], index
        former = former or (found[0], index)
    return former


@lru_cache(maxsize=65536)
def place(region: str, gar: str = "") -> Place:
    """The subject and locality of a row's ``Регион`` (``Территория ГАР`` where it is ``-``) and ГАР."""
    parts = _parts(region)
    found = _subject(parts)
    if found is None and gar and gar != region:
        gar_found = _subject(_parts(gar))
        if gar_found is not None:
            found = gar_found[0], -1
    if found is None:
        return Place(", ".join(parts) or region.strip(), None, False)  # "|" alone: still what it says
    subject, at = found
    others = [part for index, part in enumerate(parts) if index != at and not _names_subject(part)]
    plain = [part for part in others if not _is_municipal(part)]
    locality = plain[0] if plain else (_settlement(others[0]) if others else None)
    return Place(subject, locality, True)


def _names_subject(part: str) -> bool:
    """Whether a part names a subject of today: another subject is no locality (``Ханты - Мансийский -
    Югра АО |Тюменская область``: the okrug, itself a subject, lies inside the oblast)."""
    found = match(part)
    return found is not None and not found[1]
