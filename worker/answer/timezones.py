"""Time zones: the 89 federal subjects of Russia → IANA zone, and the zones of other countries' numbers.

The subjects are keyed by the 2026 registry's spelling (DEF-9xx.csv ``Регион``); older spellings of the same
subject (``Амурская обл.``, ``Республика Саха /Якутия/``, ``Ханты - Мансийский - Югра АО``) and regions
written with a locality before the subject (``г. Казань, Республика Татарстан``, ``г. Норильск|Красноярский
край``) resolve too. The zones follow Federal Law 107-FZ «Об исчислении времени» (art. 5), with the zone
tzdata gives each area.

Two subjects span several zones. Якутия: UTC+9 (``Asia/Yakutsk``, ``Asia/Khandyga``), UTC+10 (Оймяконский,
Верхоянский, Усть-Янский), UTC+11 (the six north-eastern districts); Сахалинская область: the Northern Kurils
follow ``Asia/Srednekolymsk`` (the same UTC+11). Where the registry names the locality, its zone is the
answer; else the subject's main zone with every zone of the subject listed (:attr:`Zones.all`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from worker.answer.model import RUSSIA_ISO, Answer, ForeignAnswer, RussianAnswer


@dataclass(frozen=True, slots=True)
class Zones:
    """Where a number's local time is read: ``main``, and every zone it may be in (``main`` first)."""

    main: str
    all: tuple[str, ...]

    @classmethod
    def one(cls, zone: str) -> Zones:
        return cls(zone, (zone,))

    @classmethod
    def of(cls, main: str, zones: tuple[str, ...] | list[str]) -> Zones:
        return cls(main, tuple(dict.fromkeys([main, *zones])))


MOSCOW: Final = "Europe/Moscow"
KAZAKHSTAN_ISO: Final = "KZ"

# The 89 subjects as the 2026 registry spells them → the zone of the subject (its main one if several).
SUBJECT_ZONES: Final[dict[str, str]] = {
    # MSK−1
    "Калининградская область": "Europe/Kaliningrad",
    # MSK
    "г. Москва": MOSCOW,
    "г. Санкт-Петербург": MOSCOW,
    "г. Севастополь": "Europe/Simferopol",
    "Республика Адыгея": MOSCOW,
    "Республика Дагестан": MOSCOW,
    "Республика Ингушетия": MOSCOW,
    "Кабардино-Балкарская Республика": MOSCOW,
    "Республика Калмыкия": MOSCOW,
    "Карачаево-Черкесская Республика": MOSCOW,
    "Республика Карелия": MOSCOW,
    "Республика Коми": MOSCOW,
    "Республика Крым": "Europe/Simferopol",
    "Республика Марий Эл": MOSCOW,
    "Республика Мордовия": MOSCOW,
    "Республика Северная Осетия - Алания": MOSCOW,
    "Республика Татарстан": MOSCOW,
    "Чеченская Республика": MOSCOW,
    "Чувашская Республика - Чувашия": MOSCOW,
    "Донецкая Народная Республика": MOSCOW,
    "Луганская Народная Республика": MOSCOW,
    "Краснодарский край": MOSCOW,
    "Ставропольский край": MOSCOW,
    "Архангельская область": MOSCOW,
    "Белгородская область": MOSCOW,
    "Брянская область": MOSCOW,
    "Владимирская область": MOSCOW,
    "Волгоградская область": "Europe/Volgograd",
    "Вологодская область": MOSCOW,
    "Воронежская область": MOSCOW,
    "Запорожская область": MOSCOW,
    "Ивановская область": MOSCOW,
    "Калужская область": MOSCOW,
    "Кировская область": "Europe/Kirov",
    "Костромская область": MOSCOW,
    "Курская область": MOSCOW,
    "Ленинградская область": MOSCOW,
    "Липецкая область": MOSCOW,
    "Московская область": MOSCOW,
    "Мурманская область": MOSCOW,
    "Нижегородская область": MOSCOW,
    "Новгородская область": MOSCOW,
    "Орловская область": MOSCOW,
    "Пензенская область": MOSCOW,
    "Псковская область": MOSCOW,
    "Ростовская область": MOSCOW,
    "Рязанская область": MOSCOW,
    "Смоленская область": MOSCOW,
    "Тамбовская область": MOSCOW,
    "Тверская область": MOSCOW,
    "Тульская область": MOSCOW,
    "Херсонская область": MOSCOW,
    "Ярославская область": MOSCOW,
    "Ненецкий автономный округ": MOSCOW,
    # MSK+1
    "Удмуртская Республика": "Europe/Samara",
    "Самарская область": "Europe/Samara",
    "Астраханская область": "Europe/Astrakhan",
    "Саратовская область": "Europe/Saratov",
    "Ульяновская область": "Europe/Ulyanovsk",
    # MSK+2
    "Республика Башкортостан": "Asia/Yekaterinburg",
    "Пермский край": "Asia/Yekaterinburg",
    "Курганская область": "Asia/Yekaterinburg",
    "Оренбургская область": "Asia/Yekaterinburg",
    "Свердловская область": "Asia/Yekaterinburg",
    "Тюменская область": "Asia/Yekaterinburg",
    "Челябинская область": "Asia/Yekaterinburg",
    "Ханты-Мансийский автономный округ - Югра": "Asia/Yekaterinburg",
    "Ямало-Ненецкий автономный округ": "Asia/Yekaterinburg",
    # MSK+3
    "Омская область": "Asia/Omsk",
    # MSK+4
    "Республика Алтай": "Asia/Barnaul",
    "Алтайский край": "Asia/Barnaul",
    "Республика Тыва": "Asia/Krasnoyarsk",
    "Республика Хакасия": "Asia/Krasnoyarsk",
    "Красноярский край": "Asia/Krasnoyarsk",
    "Кемеровская область - Кузбасс": "Asia/Novokuznetsk",
    "Новосибирская область": "Asia/Novosibirsk",
    "Томская область": "Asia/Tomsk",
    # MSK+5
    "Республика Бурятия": "Asia/Irkutsk",
    "Иркутская область": "Asia/Irkutsk",
    # MSK+6
    "Республика Саха (Якутия)": "Asia/Yakutsk",
    "Забайкальский край": "Asia/Chita",
    "Амурская область": "Asia/Yakutsk",
    # MSK+7
    "Приморский край": "Asia/Vladivostok",
    "Хабаровский край": "Asia/Vladivostok",
    "Еврейская автономная область": "Asia/Vladivostok",
    # MSK+8
    "Магаданская область": "Asia/Magadan",
    "Сахалинская область": "Asia/Sakhalin",
    # MSK+9
    "Камчатский край": "Asia/Kamchatka",
    "Чукотский автономный округ": "Asia/Anadyr",
}

# Subjects in several zones: (stem of a district or settlement name, its zone), tried in order.
LOCAL_ZONES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "Республика Саха (Якутия)": (
        ("среднеколым", "Asia/Srednekolymsk"),
        ("верхнеколым", "Asia/Srednekolymsk"),
        ("зырянк", "Asia/Srednekolymsk"),
        ("нижнеколым", "Asia/Srednekolymsk"),
        ("черский", "Asia/Srednekolymsk"),
        ("абый", "Asia/Srednekolymsk"),
        ("белая гора", "Asia/Srednekolymsk"),
        ("аллаихов", "Asia/Srednekolymsk"),
        ("чокурдах", "Asia/Srednekolymsk"),
        ("момск", "Asia/Srednekolymsk"),
        ("хонуу", "Asia/Srednekolymsk"),
        ("оймякон", "Asia/Ust-Nera"),
        ("усть-нера", "Asia/Ust-Nera"),
        ("верхоян", "Asia/Vladivostok"),
        ("батагай", "Asia/Vladivostok"),
        ("усть-янск", "Asia/Vladivostok"),
        ("депутатск", "Asia/Vladivostok"),
        ("томпон", "Asia/Khandyga"),
        ("хандыга", "Asia/Khandyga"),
        ("усть-май", "Asia/Khandyga"),
    ),
    "Сахалинская область": (
        ("северо-курил", "Asia/Srednekolymsk"),
        ("парамушир", "Asia/Srednekolymsk"),
    ),
}

# Zones a country's numbers may be in where libphonenumber answers the whole +7 zone list.
COUNTRY_ZONES: Final[dict[str, tuple[str, ...]]] = {
    RUSSIA_ISO: tuple(
        dict.fromkeys(
            [*SUBJECT_ZONES.values(), *(zone for pairs in LOCAL_ZONES.values() for _, zone in pairs)]
        )
    ),
    # one zone (UTC+5) since 1 March 2024; the list is tzdata's zones of Kazakhstan
    KAZAKHSTAN_ISO: (
        "Asia/Almaty",
        "Asia/Qostanay",
        "Asia/Qyzylorda",
        "Asia/Aqtobe",
        "Asia/Aqtau",
        "Asia/Atyrau",
        "Asia/Oral",
    ),
}
COUNTRY_MAIN: Final = {RUSSIA_ISO: MOSCOW, KAZAKHSTAN_ISO: "Asia/Almaty"}
NON_GEOGRAPHIC: Final = "Российская Федерация"  # 8xx numbers: the whole country

_ABBREVIATIONS: Final = {"обл": "область", "респ": "республика", "г": "город", "ао": "автономный округ"}
_WORDS: Final = re.compile(r"[а-яёa-z]+")
_PARTS: Final = re.compile(r"\s*[,|]\s*")
_JOINED: Final = re.compile(r"\s+(?:и|\*)\s+")


def _key(text: str) -> frozenset[str]:
    """The words of a subject's name in any order and spelling the registry used."""
    words: list[str] = []
    for word in _WORDS.findall(text.lower().replace("ё", "е")):
        words.extend(_ABBREVIATIONS.get(word, word).split())
    return frozenset(words)


def _build_index() -> dict[frozenset[str], str]:
    index = {_key(subject): subject for subject in SUBJECT_ZONES}
    aliases = {  # short or older names of subjects whose full name has more words
        "Москва": "г. Москва",
        "Санкт-Петербург": "г. Санкт-Петербург",
        "Севастополь": "г. Севастополь",
        "Республика Саха": "Республика Саха (Якутия)",
        "Якутия": "Республика Саха (Якутия)",
        "Чувашская Республика": "Чувашская Республика - Чувашия",
        "Кемеровская область": "Кемеровская область - Кузбасс",
        "Ханты-Мансийский автономный округ": "Ханты-Мансийский автономный округ - Югра",
        "Ханты-Мансийский Югра": "Ханты-Мансийский автономный округ - Югра",
        "Республика Северная Осетия": "Республика Северная Осетия - Алания",
        "Северная Осетия - Алания": "Республика Северная Осетия - Алания",
        "Чувашия": "Чувашская Республика - Чувашия",
    }
    index.update({_key(alias): subject for alias, subject in aliases.items()})
    return index


_INDEX: Final = _build_index()


def subject_of(text: str) -> str | None:
    """The canonical subject a registry region names: the whole text, else its last part that is one
    (``г. Казань, Республика Татарстан`` → ``Республика Татарстан``); ``None`` if none is a subject."""
    found = _INDEX.get(_key(text))
    if found is not None:
        return found
    for part in reversed(_PARTS.split(text)):
        found = _INDEX.get(_key(part))
        if found is not None:
            return found
    return None


@lru_cache(maxsize=4096)
def russian_zones(region: str, locality: str | None = None) -> Zones | None:
    """The zones of a Russian number from its registry region (and locality, when the registry names one).

    ``None`` for a region that names no subject; several subjects joined (``г. Москва и Московская
    область``) answer their common zone, or the first one's with every one listed.
    """
    if _key(region) == _key(NON_GEOGRAPHIC) or region.startswith(NON_GEOGRAPHIC):
        return Zones.of(MOSCOW, COUNTRY_ZONES[RUSSIA_ISO])
    subject = subject_of(region)
    if subject is not None:
        return _subject_zones(subject, locality if locality is not None else _locality_in(region))
    subjects = [subject_of(part) for part in _JOINED.split(region)]
    zones = list(dict.fromkeys(SUBJECT_ZONES[found] for found in subjects if found is not None))
    if not zones or None in subjects:
        return None
    return Zones.of(zones[0], zones)


def _locality_in(region: str) -> str | None:
    """The parts of a region before its subject (``г. Норильск|Красноярский край`` → ``г. Норильск``)."""
    parts = _PARTS.split(region)
    return ", ".join(parts[:-1]) if len(parts) > 1 else None


def _subject_zones(subject: str, locality: str | None) -> Zones:
    main = SUBJECT_ZONES[subject]
    local = LOCAL_ZONES.get(subject)
    if local is None:
        return Zones.one(main)
    if locality:
        place = locality.lower().replace("ё", "е")
        for stem, zone in local:
            if stem in place:
                return Zones.one(zone)
    return Zones.of(main, [zone for _, zone in local])


def zones_of(answer: Answer) -> Zones | None:
    """The zones of an answer: the subject's (and locality's) for a Russian number, libphonenumber's for
    any other; ``None`` where neither knows."""
    if isinstance(answer, RussianAnswer):
        allocation = answer.allocation
        return range_zones(allocation.code, allocation.region, getattr(allocation, "locality", None))
    if isinstance(answer, ForeignAnswer):
        return foreign_zones(answer.region_iso, answer.timezones)
    return None


def range_zones(code: str, region: str, locality: str | None) -> Zones | None:
    """The zones of a registry range: its subject's (and locality's), else its code's."""
    zones = russian_zones(region, locality)
    return zones if zones is not None else code_zones(code)


@lru_cache(maxsize=1024)
def code_zones(code: str) -> Zones | None:
    """Russia's zones by the ABC/DEF code, for a region that names no subject (``г.о. Новоуральский``,
    ``Дальневосточный федеральный округ``): libphonenumber's zones of the code."""
    from phonenumbers.tzdata import TIMEZONE_DATA  # a small table; imported on first use

    digits = "7" + code
    for length in range(len(digits), 1, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones:
            return foreign_zones(RUSSIA_ISO, tuple(zones))
    return foreign_zones(RUSSIA_ISO, ())


@lru_cache(maxsize=1024)
def foreign_zones(region_iso: str, zones: tuple[str, ...]) -> Zones | None:
    """libphonenumber's zones for a number, narrowed to its own country where libphonenumber lists the
    whole +7 zone (Russia's and Kazakhstan's zones together, for every mobile number of either)."""
    known = tuple(zone for zone in zones if zone and zone != "Etc/Unknown")
    own = COUNTRY_ZONES.get(region_iso)
    if own is not None:
        known = tuple(zone for zone in known if zone in own) or own
    if not known:
        return None
    main = COUNTRY_MAIN.get(region_iso)
    if main is None or main not in known:
        main = known[0]
    return Zones.of(main, known)
