"""num.voxlink.ru's answers: the v1 and v2 JSON bodies, with their status codes and error bodies.

The HTTP API and ``numlookup lookup`` both write these, so the CLI shows exactly what a dialplan's
``CURL()`` would receive. ``Outcome`` is what the engine produced for one request: an answer, or the input
error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from worker.answer.model import RUSSIA_CC, RUSSIA_ISO, Answer, ForeignAnswer, RussianAnswer, source_of
from worker.answer.translit import latin
from worker.errors import InvalidNumber
from worker.numbers import is_russian

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


def to_json(body: dict[str, object] | dict[str, str]) -> str:
    """JSON as num.voxlink.ru writes it: UTF-8 text, ``", "`` and ``": "`` separators, one line."""
    return json.dumps(body, ensure_ascii=False)


Outcome = Answer | InvalidNumber
Body = dict[str, object]

V1_EXAMPLES: Final = ["+74959898533", "74959898533", "84959898533", "4959898533"]
JSON: Final = "application/json"
TEXT: Final = "text/plain"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: str
    content_type: str  # charset is always utf-8
    source: str | None = None  # where the answer came from (X-Numlookup-Source); None for an input error


def missing_num(base_url: str, version: int) -> tuple[int, Body]:
    """The 404 for a request without ``num`` (v2's exact body; v1 gets the same with its own path)."""
    path = "/get/v2/" if version == 2 else "/get/"
    examples = [f"{base_url}{path}?num=74959898533", f"{base_url}{path}?num=+74959898533"]
    return 404, {"info": "Incorrect request: param num is required", "example": examples}


def v1_body(raw: str, outcome: Outcome, *, translit: bool = False) -> tuple[int, Body]:
    if isinstance(outcome, InvalidNumber):
        return 404, {"info": f"Неверный формат номера: num={raw}", "example": list(V1_EXAMPLES)}
    if isinstance(outcome, RussianAnswer):
        return 200, dict(v1(outcome, translit=translit))
    if is_russian(outcome.digits):
        info = f"Номер не найден в реестре Российской системы и плана нумерации: num={raw}"
    else:
        info = f"Номер не российский, используйте /get/v2/: num={raw}"
    return 404, {"info": info, "example": list(V1_EXAMPLES)}


def v2_body(raw: str, outcome: Outcome) -> tuple[int, Body]:
    if isinstance(outcome, InvalidNumber):
        return 200, dict(V2_NOT_FOUND)
    return 200, v2(outcome)


def field_value(body: Body, field: str) -> str:
    """One field as plain text: what ``${CURL(...&field=operator)}`` puts into a dialplan variable."""
    value = body.get(field)
    return "" if value is None else str(value)


def render(status: int, body: Body, field: str | None, source: str | None = None) -> Reply:
    """A single-number reply: the JSON body, or with ``field=`` that field's bare value."""
    if field is not None and status == 200:
        return Reply(200, field_value(body, field), TEXT, source)
    return Reply(status, to_json(body), JSON, source)


def outcome_source(outcome: Outcome) -> str | None:
    return None if isinstance(outcome, InvalidNumber) else source_of(outcome)


def v1_reply(raw: str, outcome: Outcome, *, field: str | None = None, translit: bool = False) -> Reply:
    status, body = v1_body(raw, outcome, translit=translit)
    return render(status, body, field, outcome_source(outcome))


def v2_reply(raw: str, outcome: Outcome, *, field: str | None = None) -> Reply:
    status, body = v2_body(raw, outcome)
    return render(status, body, field, outcome_source(outcome))
