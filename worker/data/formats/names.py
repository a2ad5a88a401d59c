"""Readable spellings of what the registry upper-cases: operator names, brands and regions.

Since November 2024 the registry spells most operator names in capitals (``ООО "Т2 МОБАЙЛ"``); older files
and some rows keep their own case (``ПАО "МегаФон"``). A value that has any lower-case letter is left exactly
as the registry wrote it; an all-capitals value gets a readable case by the rules below, which keep
abbreviations (``ООО``, ``ТТК``, ``МГТС``: three letters or fewer, or no vowel) in capitals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

_WORD: Final = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS: Final = frozenset("АЕЁИОУЫЭЮЯAEIOUY")
_SPACES: Final = re.compile(r"\s+")

# Legal forms written before the name; the fallback brand drops them.
LEGAL_FORMS: Final = frozenset(
    {"ООО", "ПАО", "АО", "ЗАО", "ОАО", "НАО", "ГУП", "ФГУП", "МУП", "ИП", "АНО", "ФГБУ", "ФКУ", "ГКУ", "ТОО"}
)
# Spelled-out legal forms and function words: lower case after the first word.
_LOWER_WORDS: Final = frozenset(
    [
        "и",
        "в",
        "во",
        "на",
        "по",
        "с",
        "со",
        "для",
        "от",
        "из",
        "к",
        "при",
        "о",
        "об",
        "общество",
        "ограниченной",
        "ответственностью",
        "акционерное",
        "публичное",
        "открытое",
        "закрытое",
        "непубличное",
        "государственное",
        "унитарное",
        "предприятие",
        "федеральное",
        "муниципальное",
        "учреждение",
    ]
)
# Region words that stay lower case wherever they stand (abbreviations) or after the first word.
_REGION_ABBREVIATIONS: Final = frozenset(
    ["г", "го", "р-н", "мр-н", "м", "р", "н", "пгт", "с", "п", "д", "ст", "рп", "мо", "сп", "гп", "обл"]
)
_REGION_WORDS: Final = frozenset(
    [
        "область",
        "край",
        "округ",
        "автономный",
        "автономная",
        "автономного",
        "район",
        "город",
        "городской",
        "муниципальный",
        "поселок",
        "посёлок",
        "село",
        "деревня",
        "станица",
        "сельское",
        "городское",
        "поселение",
        "регион",
        "и",
    ]
)


def has_lower(text: str) -> bool:
    return any(char.islower() for char in text)


def squash(text: str) -> str:
    """Trim and collapse runs of white space (tabs included) into one space."""
    return _SPACES.sub(" ", text).strip()


def _is_abbreviation(word: str) -> bool:
    return len(word) <= 3 or not any(char in _VOWELS for char in word.upper())


def _recase(text: str, word_case: Callable[[re.Match[str], bool], str]) -> str:
    """``text`` with each word re-cased by ``word_case(match, is_first_word)``; kept as written when the
    registry wrote it with any lower-case letter (only all-capitals spellings need help)."""
    text = squash(text)
    if has_lower(text):
        return text
    first = True

    def fix(match: re.Match[str]) -> str:
        nonlocal first
        was_first, first = first, False
        return word_case(match, was_first)

    return _WORD.sub(fix, text)


def _operator_word(match: re.Match[str], first: bool) -> str:
    word = match.group(0)
    if word in LEGAL_FORMS or _is_abbreviation(word):
        return word
    lower = word.lower()
    return lower if lower in _LOWER_WORDS and not first else word.capitalize()


def _region_word(match: re.Match[str], first: bool) -> str:
    word = match.group(0)
    lower = word.lower()
    end = match.end()
    abbreviated = end < len(match.string) and match.string[end] in ".-"
    if lower in _REGION_ABBREVIATIONS and (abbreviated or len(lower) <= 2):
        return lower
    if lower in _REGION_WORDS and not first:
        return lower
    if len(word) <= 2:  # АО, РФ
        return word
    return word.capitalize()


def readable_operator(name: str) -> str:
    """``ООО "Т2 МОБАЙЛ"`` → ``ООО "Т2 Мобайл"``; names with any lower-case letter are kept as written."""
    return _recase(name, _operator_word)


def readable_region_part(part: str) -> str:
    """``РЕСПУБЛИКА БАШКОРТОСТАН`` → ``Республика Башкортостан``; ``Г. МОСКВА`` → ``г. Москва``."""
    return _recase(part, _region_word)


def unquote_field(field: str) -> str:
    """Undo the CSV quoting of the pre-2019 files (outer quotes, doubled inner ones); keep quotes paired."""
    if not field.startswith('"'):
        return field
    inner = field[1:]
    trailing = len(inner) - len(inner.rstrip('"'))
    if trailing % 2 == 1:
        inner = inner[:-1]
    inner = inner.replace('""', '"')
    return inner + '"' if inner.count('"') % 2 == 1 else inner


def name_key(name: str) -> str:
    """The key of an operator known only by name: legal form, quotes, case and spacing removed."""
    return squash(strip_legal_form(name).replace("-", " ")).upper()


def strip_legal_form(name: str) -> str:
    """``ООО "Т2 Мобайл"`` → ``Т2 Мобайл``; a quoted part, when there is one, is the name itself.

    Nested quotes lose their shared closing quote in the registry (``АО "МК "ВЫСОТА"``): the name is then
    everything after the first quote, the inner pair restored (``МК "ВЫСОТА"``)."""
    name = squash(name)
    if name.count('"') >= 3:
        inner = name[name.index('"') + 1 :].removesuffix('"').strip()
        return inner + '"' if inner.count('"') % 2 else inner
    quoted = re.search(r"[\"«“]([^\"»”]+)[\"»”]?", name)
    if quoted and quoted.start() > 0:
        return squash(quoted.group(1))
    words = name.replace('"', " ").replace("«", " ").replace("»", " ").split()
    while len(words) > 1 and words[0].upper() in LEGAL_FORMS:
        words.pop(0)
    return " ".join(words)


def fallback_brand(name: str) -> str:
    """The brand of an operator the mapping does not list: its name without the legal form, readable."""
    return readable_operator(strip_legal_form(name))
