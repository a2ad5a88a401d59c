"""The 89 federal subjects of Russia, one spelling each, and every way the numbering registry writes them.

What numlookup answers as ``region`` (v1, ``NUM_REGION``, the page) is one of these names, spelled as the
2026 registry spells the subject in ``DEF-9xx.csv`` (``Территория ГАР``; ``г.`` for the federal cities):
``Республика Татарстан``, ``г. Москва``, ``Республика Саха (Якутия)``, ``Ханты-Мансийский автономный
округ - Югра``. Besides the subjects a region can be:

- a **joint area**: the registry allocates mobile ranges to two subjects together (``г. Москва и
  Московская область``); :data:`JOINT_AREAS` spells the four it uses, :func:`subjects_of` splits any;
- **nationwide**: :data:`NATIONWIDE` (``Российская Федерация``), for non-geographic 8xx ranges.

Every generation of the registry since 2014 spells these differently (``Ростовская обл.``, ``Республика
Саха /Якутия/``, ``Ханты - Мансийский - Югра АО``, ``Кемеровская обл.``, ``Город Москва``, ``Республика
Удмуртская``, ``г. Москва * Московская область``, cp1251 ``Республика Татарстан (Татарстан)``...):
:func:`canonical` folds case, punctuation, word order, ``г.``/``Город``, ``обл.``/``АО`` and the aliases
below onto one name. Code keyed by subject (time zones, routing tables) imports :data:`SUBJECTS`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, NamedTuple

NATIONWIDE: Final = "Российская Федерация"

# The 89 subjects (Constitution art. 65 as amended in 2022), canonical spelling → aliases that the key
# folding of :func:`_key` does not already cover (short forms, older official names).
_TABLE: Final[dict[str, tuple[str, ...]]] = {
    # republics
    "Республика Адыгея": ("Адыгея",),
    "Республика Алтай": (),
    "Республика Башкортостан": ("Башкортостан", "Башкирия"),
    "Республика Бурятия": ("Бурятия",),
    "Республика Дагестан": ("Дагестан",),
    "Донецкая Народная Республика": ("ДНР",),
    "Республика Ингушетия": ("Ингушетия",),
    "Кабардино-Балкарская Республика": ("Кабардино-Балкария",),
    "Республика Калмыкия": ("Калмыкия",),
    "Карачаево-Черкесская Республика": ("Карачаево-Черкесия",),
    "Республика Карелия": ("Карелия",),
    "Республика Коми": ("Коми",),
    "Республика Крым": ("Крым",),
    "Луганская Народная Республика": ("ЛНР",),
    "Республика Марий Эл": ("Марий Эл",),
    "Республика Мордовия": ("Мордовия",),
    "Республика Саха (Якутия)": ("Якутия", "Республика Саха", "Саха (Якутия)"),
    "Республика Северная Осетия - Алания": ("Северная Осетия", "Республика Северная Осетия"),
    "Республика Татарстан": ("Татарстан",),
    "Республика Тыва": ("Тыва", "Республика Тува"),
    "Удмуртская Республика": ("Удмуртия",),
    "Республика Хакасия": ("Хакасия",),
    "Чеченская Республика": ("Чечня", "Чеченская Республика (Чечня)"),
    "Чувашская Республика - Чувашия": ("Чувашская Республика", "Чувашия"),
    # krais
    "Алтайский край": (),
    "Забайкальский край": (),
    "Камчатский край": (),
    "Краснодарский край": ("Кубань",),
    "Красноярский край": (),
    "Пермский край": (),
    "Приморский край": ("Приморье",),
    "Ставропольский край": (),
    "Хабаровский край": (),
    # oblasts
    "Амурская область": (),
    "Архангельская область": (),
    "Астраханская область": (),
    "Белгородская область": (),
    "Брянская область": (),
    "Владимирская область": (),
    "Волгоградская область": (),
    "Вологодская область": (),
    "Воронежская область": (),
    "Запорожская область": (),
    "Ивановская область": (),
    "Иркутская область": (),
    "Калининградская область": (),
    "Калужская область": (),
    "Кемеровская область - Кузбасс": ("Кемеровская область", "Кузбасс"),
    "Кировская область": (),
    "Костромская область": (),
    "Курганская область": (),
    "Курская область": (),
    "Ленинградская область": (),
    "Липецкая область": (),
    "Магаданская область": (),
    "Московская область": ("Подмосковье",),
    "Мурманская область": (),
    "Нижегородская область": (),
    "Новгородская область": (),
    "Новосибирская область": (),
    "Омская область": (),
    "Оренбургская область": (),
    "Орловская область": (),
    "Пензенская область": (),
    "Псковская область": (),
    "Ростовская область": (),
    "Рязанская область": (),
    "Самарская область": (),
    "Саратовская область": (),
    "Сахалинская область": (),
    "Свердловская область": (),
    "Смоленская область": (),
    "Тамбовская область": (),
    "Тверская область": (),
    "Томская область": (),
    "Тульская область": (),
    "Тюменская область": (),
    "Ульяновская область": (),
    "Херсонская область": (),
    "Челябинская область": (),
    "Ярославская область": (),
    # cities of federal significance
    "г. Москва": (),
    "г. Санкт-Петербург": ("Петербург",),
    "г. Севастополь": (),
    # the autonomous oblast and the autonomous okrugs
    "Еврейская автономная область": (),
    "Ненецкий автономный округ": (),
    "Ханты-Мансийский автономный округ - Югра": ("Ханты-Мансийский автономный округ", "Югра"),
    "Чукотский автономный округ": (),
    "Ямало-Ненецкий автономный округ": (),
}

# Subjects merged into another between 2005 and 2008, as the 2014 files still name them.
_FORMER: Final[dict[str, str]] = {
    "Читинская область": "Забайкальский край",
    "Агинский Бурятский автономный округ": "Забайкальский край",
    "Камчатская область": "Камчатский край",
    "Корякский автономный округ": "Камчатский край",
    "Корякский округ": "Камчатский край",
    "Пермская область": "Пермский край",
    "Коми-Пермяцкий автономный округ": "Пермский край",
    "Таймырский (Долгано-Ненецкий) автономный округ": "Красноярский край",
    "Таймырский автономный округ": "Красноярский край",
    "Эвенкийский автономный округ": "Красноярский край",
    "Усть-Ордынский Бурятский автономный округ": "Иркутская область",
}

SUBJECTS: Final[tuple[str, ...]] = tuple(_TABLE)
"""The 89 canonical subject names, in the order of the Constitution's groups."""

JOINT_AREAS: Final[dict[frozenset[str], str]] = {
    frozenset(names.split(" и ")): names
    for names in (
        "г. Москва и Московская область",
        "г. Санкт-Петербург и Ленинградская область",
        "Республика Крым и г. Севастополь",
        "Архангельская область и Ненецкий автономный округ",
    )
}
"""Pairs of subjects the registry allocates mobile ranges to together, spelled as the 2026 DEF file does."""

# Abbreviations the registry uses, expanded before comparing; "г."/"город" before a name is dropped.
_EXPAND: Final[dict[str, tuple[str, ...]]] = {
    "обл": ("область",),
    "ао": ("автономный", "округ"),
    "респ": ("республика",),
    "г": (),
    "город": (),
    "оруг": ("округ",),  # a typo of the 2014 files
}
_WORDS: Final = re.compile(r"[0-9a-zа-я]+")
# Separators of a joint value: "г. Москва и Московская область", "... * ...", ГАР's "..., ...".
_JOINT_SPLIT: Final = re.compile(r"\s+(?:и|\*)\s+|\s*,\s*")


def _key(name: str) -> str:
    """A spelling's comparison key: its words, lower case, abbreviations expanded, order ignored."""
    words: set[str] = set()
    for word in _WORDS.findall(name.lower().replace("ё", "е")):
        words.update(_EXPAND.get(word, (word,)))
    return " ".join(sorted(words))


class _Match(NamedTuple):
    name: str
    former: bool  # a subject merged into another since 2005 (Читинская область → Забайкальский край)


def _index() -> dict[str, _Match]:
    index: dict[str, _Match] = {}
    for name, aliases in _TABLE.items():
        for spelling in (name, *aliases):
            index[_key(spelling)] = _Match(name, False)
    for spelling, successor in _FORMER.items():
        index[_key(spelling)] = _Match(successor, True)
    return index


_INDEX: Final = _index()
_NATIONWIDE_KEY: Final = _key(NATIONWIDE)


def subject(name: str) -> str | None:
    """The subject one spelling names (``Ростовская обл.`` → ``Ростовская область``), or ``None``."""
    match = _INDEX.get(_key(name))
    return match.name if match is not None else None


@lru_cache(maxsize=65536)
def match(value: str) -> tuple[str, bool] | None:
    """What one registry value (no ``|`` in it) names: ``(canonical region, former)`` or ``None``.

    The region is a subject, a joint area of two (``г. Москва * Московская область`` → ``г. Москва и
    Московская область``) or :data:`NATIONWIDE` (also ``Российская Федерация, кроме Чеченской
    Республики``). ``former`` says it was found by the name of a subject that no longer exists
    (``Корякский округ``).
    """
    key = _key(value)
    if not key:
        return None
    found = _INDEX.get(key)
    if found is not None:
        return found.name, found.former
    if _key(value.split(",", 1)[0]) == _NATIONWIDE_KEY:
        return NATIONWIDE, False
    parts = [part for part in _JOINT_SPLIT.split(value) if part.strip()]
    if len(parts) < 2:
        return None
    names: list[str] = []
    for part in parts:
        one = _INDEX.get(_key(part))
        if one is None:
            return None
        if one.name not in names:
            names.append(one.name)
    if len(names) == 1:
        return names[0], False
    if len(names) > 2:  # a list of many subjects ("Дальневосточный федеральный округ" in ГАР) is no area
        return None
    return JOINT_AREAS.get(frozenset(names)) or " и ".join(names), False


def canonical(value: str) -> str | None:
    """The canonical region of one registry value, or ``None`` when it names no subject."""
    found = match(value)
    return found[0] if found is not None else None


def subjects_of(region: str) -> tuple[str, ...]:
    """The subjects a canonical region covers: one for a subject, two for a joint area, none for
    :data:`NATIONWIDE` or a value that names no subject (what a table keyed by subject needs)."""
    if region in _TABLE:
        return (region,)
    found = canonical(region)
    if found is None or found == NATIONWIDE:
        return ()
    if found in _TABLE:
        return (found,)
    return tuple(name for name in (subject(part) for part in found.split(" и ")) if name is not None)
