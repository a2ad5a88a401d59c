"""Cyrillic → plain ASCII Latin, one scheme everywhere: GOST 7.0.34-2014 as implemented by ``iuliia``.

"Краснодарский край" → "Krasnodarskij kraj", "г. Москва" → "g. Moskva", "МТС" → "MTS". Anything the scheme
leaves outside ASCII (« », №, Latin letters with accents) is folded so that every value is ASCII only.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import iuliia

_PUNCTUATION = str.maketrans({"«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "—": "-", "–": "-", "№": "N"})


@lru_cache(maxsize=65536)
def latin(text: str) -> str:
    """The ASCII transliteration of ``text`` (cached: the set of operator and region names is small)."""
    if text.isascii():
        return text
    translated = iuliia.GOST_7034.translate(text).translate(_PUNCTUATION)
    return ascii_fold(translated)


def ascii_fold(text: str) -> str:
    """Drop accents and anything else outside ASCII: "Åland Islands" → "Aland Islands"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    return decomposed.encode("ascii", "ignore").decode("ascii")
