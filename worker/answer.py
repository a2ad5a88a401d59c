"""The typed answer of a lookup and its renderings: v1 JSON, v2 JSON and dialplan variables.

The engine returns one of three answers: :class:`RussianAnswer` (from the registry and MNP data),
:class:`ForeignAnswer` (from libphonenumber) or :class:`NotFound`. Front ends never build answers; they only
render them with the functions below, so an answer reads the same over HTTP, AMI, FastAGI and the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Literal

from worker.translit import latin

RUSSIA_CC: Final = 7
RUSSIA_ISO: Final = "RU"


@dataclass(frozen=True, slots=True)
class LineType:
    id: str  # "MOB", "FIX", "TF", ...
    description: str  # "mobile", "geographic", "toll free", ...


MOBILE: Final = LineType("MOB", "mobile")
GEOGRAPHIC: Final = LineType("FIX", "geographic")


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
    region: str
    line_type: LineType

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


@dataclass(frozen=True, slots=True)
class NotFound:
    digits: str


Answer = RussianAnswer | ForeignAnswer | NotFound
Status = Literal["OK", "NOT_FOUND", "INVALID", "ERROR"]

V1_FIELDS: Final = ("code", "num", "full_num", "operator", "old_operator", "region")
V2_FIELDS: Final = (
    "cns", "country_code", "destination", "type_id", "description", "location", "registrar",
    "registrar_old", "min_subscr_nr_length", "max_subscr_nr_length", "flag_iso", "flag_icon",
)  # fmt: skip
V2_NOT_FOUND: Final = {"destination": "not found"}


def v1(answer: RussianAnswer, *, translit: bool = False) -> dict[str, str]:
    """num.voxlink.ru's ``/get/`` body; only Russian numbers have one."""
    national = answer.national
    allocation = answer.allocation
    operator = answer.operator.brand
    region = allocation.region
    body = {"code": national[:3], "num": national[3:], "full_num": national, "operator": operator}
    old = answer.old_operator
    if old is not None:
        body["old_operator"] = old.brand
    body["region"] = region
    if translit:
        return {key: latin(value) for key, value in body.items()}
    return body


def v2(answer: Answer) -> dict[str, object]:
    """num.voxlink.ru's ``/get/v2/`` body, for any country."""
    if isinstance(answer, RussianAnswer):
        allocation = answer.allocation
        body: dict[str, object] = {
            "cns": int("7" + answer.national) if answer.ported_to else allocation.cns,
            "country_code": RUSSIA_CC,
            "destination": "Russia",
            "type_id": allocation.line_type.id,
            "description": allocation.line_type.description,
            "location": latin(allocation.region),
            "registrar": answer.operator.brand_latin,
        }
        if answer.ported_to is not None:
            body["registrar_old"] = allocation.operator.brand_latin
        body.update(_lengths_and_flag(11, 11, RUSSIA_ISO))
        return body
    if isinstance(answer, ForeignAnswer):
        body = {
            "cns": answer.cns,
            "country_code": answer.country_code,
            "destination": answer.destination,
            "type_id": answer.line_type.id,
            "description": answer.line_type.description,
        }
        if answer.location:
            body["location"] = answer.location
        if answer.carrier:
            body["registrar"] = answer.carrier
        body.update(_lengths_and_flag(answer.min_length, answer.max_length, answer.region_iso))
        return body
    return dict(V2_NOT_FOUND)


def _lengths_and_flag(shortest: int, longest: int, iso: str) -> dict[str, object]:
    return {
        "min_subscr_nr_length": shortest,
        "max_subscr_nr_length": longest,
        "flag_iso": iso,
        "flag_icon": flag_emoji(iso),
    }


def flag_emoji(iso: str) -> str:
    """The flag of an ISO 3166-1 alpha-2 code, as two regional indicator symbols."""
    if len(iso) != 2 or not iso.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in iso.upper())


def status(answer: Answer) -> Status:
    return "NOT_FOUND" if isinstance(answer, NotFound) else "OK"


def to_json(body: dict[str, object] | dict[str, str]) -> str:
    """JSON as num.voxlink.ru writes it: UTF-8 text, ``", "`` and ``": "`` separators, one line."""
    return json.dumps(body, ensure_ascii=False)


def variables(answer: Answer, *, version: Literal[1, 2] = 1, var: str = "var") -> list[tuple[str, str]]:
    """Dialplan variables for the AMI worker and FastAGI, ``NUM_STATUS`` last.

    ``var`` holds the whole answer as JSON (v1 for Russian numbers unless ``version`` is 2; v2 for every
    other country, since v1 cannot describe them), so ``${JSON_DECODE(var,operator)}`` works.
    """
    if isinstance(answer, NotFound):
        return [(var, to_json(V2_NOT_FOUND)), ("NUM_STATUS", "NOT_FOUND")]
    body2 = v2(answer)
    pairs: list[tuple[str, str]] = []
    if isinstance(answer, RussianAnswer):
        old = answer.old_operator
        latin_names = version == 2
        pairs += [
            ("NUM_OPERATOR", answer.operator.brand_latin if latin_names else answer.operator.brand),
            ("NUM_OLD_OPERATOR", "" if old is None else (old.brand_latin if latin_names else old.brand)),
            ("NUM_REGION", latin(answer.allocation.region) if latin_names else answer.allocation.region),
        ]
        document = to_json(body2) if version == 2 else to_json(v1(answer))
    else:
        pairs += [
            ("NUM_OPERATOR", str(body2.get("registrar", ""))),
            ("NUM_OLD_OPERATOR", ""),
            ("NUM_REGION", str(body2.get("location", ""))),
        ]
        document = to_json(body2)
    pairs += [
        ("NUM_COUNTRY", str(body2["flag_iso"])),
        ("NUM_DESTINATION", str(body2["destination"])),
        ("NUM_TYPE", str(body2["type_id"])),
        (var, document),
        ("NUM_STATUS", "OK"),
    ]
    return pairs


def failure_variables(result: Literal["INVALID", "ERROR"], var: str = "var") -> list[tuple[str, str]]:
    """What the dialplan sees when the number was malformed or the lookup failed."""
    return [(var, ""), ("NUM_STATUS", result)]
