"""num.voxlink.ru's answers: the v1 and v2 JSON bodies, with their status codes and error bodies.

The HTTP API and ``numlookup lookup`` both write these, so the CLI shows exactly what a dialplan's
``CURL()`` would receive. ``Outcome`` is what the engine produced for one request: an answer, or the input
error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from worker.answer.calling import DEFAULT_CLOCK, Clock, LocalTime
from worker.answer.model import RUSSIA_CC, RUSSIA_ISO, Answer, ForeignAnswer, RussianAnswer, source_of
from worker.answer.timezones import Zones, zones_of
from worker.answer.translit import latin
from worker.errors import InvalidNumber
from worker.numbers import is_russian

V1_FIELDS: Final = ("code", "num", "full_num", "operator", "old_operator", "region", "locality")
V2_FIELDS: Final = (
    "cns", "country_code", "destination", "type_id", "description", "location", "registrar",
    "registrar_old", "min_subscr_nr_length", "max_subscr_nr_length", "flag_iso", "flag_icon",
    "timezone", "utc_offset", "timezones", "callable_now",
)  # fmt: skip
V2_NOT_FOUND: Final = {"destination": "not found"}
# Fields ``field=`` accepts: the bodies' own, and those other parts of numlookup add (docs/contract.md).
# A field the number does not have answers an empty body; a name outside these is an error (a typo in a
# dialplan must not blank the caller's name silently).
V1_KNOWN_FIELDS: Final = V1_FIELDS  # "locality" is one of them: present only where the registry names one
V2_KNOWN_FIELDS: Final = V2_FIELDS  # the local-time fields are among them


class Meaning(StrEnum):
    """What a lookup's outcome means, the same on every front end (HTTP, CLI, AMI, FastAGI)."""

    FOUND = "found"  # an answer from the registry (v1), or any answer (v2)
    MALFORMED = "malformed"  # no phone number at all: "0", "123", 15 digits, letters
    NOT_RUSSIAN = "not_russian"  # a valid number of another country
    NOT_IN_REGISTRY = "not_in_registry"  # a Russian number in no range of the loaded registry
    NO_DATA = "no_data"  # a Russian number, and no registry dataset loaded to answer it from


def meaning(outcome: Outcome, *, loaded: bool = True) -> Meaning:
    """The :class:`Meaning` of ``outcome`` for a Russian-registry question (v1, the dialplan's v1)."""
    if isinstance(outcome, RussianAnswer):
        return Meaning.FOUND
    if isinstance(outcome, InvalidNumber):
        return Meaning.MALFORMED
    russian = (
        outcome.region_iso == RUSSIA_ISO
        if isinstance(outcome, ForeignAnswer) and outcome.region_iso
        else is_russian(outcome.digits)
    )
    if not russian:
        return Meaning.NOT_RUSSIAN if isinstance(outcome, ForeignAnswer) else Meaning.MALFORMED
    return Meaning.NOT_IN_REGISTRY if loaded else Meaning.NO_DATA


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
    if allocation.locality is not None:  # an added key: only where the registry names a locality
        body["locality"] = allocation.locality
    if translit:
        return {key: latin(value) for key, value in body.items()}
    return body


def v2(answer: Answer, clock: Clock = DEFAULT_CLOCK) -> dict[str, object]:
    """num.voxlink.ru's ``/get/v2/`` body, for any country, with numlookup's local-time fields."""
    body = voxlink_v2(answer)
    if len(body) > 1:  # not V2_NOT_FOUND
        body.update(time_fields(answer, clock))
    return body


def time_fields(answer: Answer, clock: Clock = DEFAULT_CLOCK) -> dict[str, object]:
    """``timezone``, ``utc_offset``, ``callable_now`` (and ``timezones`` when the number may be in
    several): empty where no zone is known."""
    zones = zones_of(answer)
    if zones is None:
        return {}
    return zone_fields(zones, clock.local(zones))


def zone_fields(zones: Zones, local: LocalTime) -> dict[str, object]:
    """:func:`time_fields` of a number in ``zones`` whose local time is ``local``."""
    fields: dict[str, object] = {"timezone": zones.main, "utc_offset": local.utc_offset}
    if len(zones.all) > 1:
        fields["timezones"] = list(zones.all)
    fields["callable_now"] = local.callable
    return fields


def voxlink_v2(answer: Answer) -> dict[str, object]:
    """The fields of a v2 body that num.voxlink.ru has (:func:`v2` adds the local-time ones)."""
    if isinstance(answer, RussianAnswer):
        allocation = answer.allocation
        body: dict[str, object] = {
            "cns": int("7" + answer.national) if answer.ported_to else allocation.cns,
            "country_code": RUSSIA_CC,
            "destination": "Russia",
            "type_id": allocation.line_type.id,
            "description": allocation.line_type.description,
            "location": latin(allocation.location),
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


V1_ERRORS: Final = {
    Meaning.MALFORMED: (404, "Неверный формат номера: num={}"),
    Meaning.NOT_RUSSIAN: (404, "Номер не российский, используйте /get/v2/: num={}"),
    Meaning.NOT_IN_REGISTRY: (404, "Номер не найден в реестре Российской системы и плана нумерации: num={}"),
    Meaning.NO_DATA: (503, "Реестр не загружен (no registry data loaded): num={}"),
}


def v1_body(raw: str, outcome: Outcome, *, translit: bool = False, loaded: bool = True) -> tuple[int, Body]:
    """``loaded``: whether the engine has a registry dataset (without one, a Russian number is a 503)."""
    if isinstance(outcome, RussianAnswer):
        return 200, dict(v1(outcome, translit=translit))
    status, info = V1_ERRORS[meaning(outcome, loaded=loaded)]
    return status, {"info": info.format(raw), "example": list(V1_EXAMPLES)}


def v2_body(raw: str, outcome: Outcome, clock: Clock = DEFAULT_CLOCK) -> tuple[int, Body]:
    if isinstance(outcome, InvalidNumber):
        return 200, dict(V2_NOT_FOUND)
    return 200, v2(outcome, clock)


def field_value(body: Body, field: str) -> str:
    """One field as plain text: what ``${CURL(...&field=operator)}`` puts into a dialplan variable."""
    value = body.get(field)
    if value is None:
        return ""
    if isinstance(value, bool):  # callable_now: 1/0, as NUM_CALLABLE
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def unknown_field(field: str, known: tuple[str, ...]) -> Reply:
    """The 400 for a ``field=`` no answer has; it lists the fields there are."""
    body: Body = {"info": f"Неизвестное поле (unknown field): field={field}", "fields": list(known)}
    return Reply(400, to_json(body), JSON)


def render(status: int, body: Body, field: str | None, source: str | None = None) -> Reply:
    """A single-number reply: the JSON body, or with ``field=`` that field's bare value."""
    if field is not None and status == 200:
        return Reply(200, field_value(body, field), TEXT, source)
    return Reply(status, to_json(body), JSON, source)


def outcome_source(outcome: Outcome) -> str | None:
    return None if isinstance(outcome, InvalidNumber) else source_of(outcome)


def v1_reply(
    raw: str, outcome: Outcome, *, field: str | None = None, translit: bool = False, loaded: bool = True
) -> Reply:
    if field is not None and field not in V1_KNOWN_FIELDS:
        return unknown_field(field, V1_KNOWN_FIELDS)
    status, body = v1_body(raw, outcome, translit=translit, loaded=loaded)
    return render(status, body, field, outcome_source(outcome))


def v2_reply(raw: str, outcome: Outcome, *, field: str | None = None, clock: Clock = DEFAULT_CLOCK) -> Reply:
    if field is not None and field not in V2_KNOWN_FIELDS:
        return unknown_field(field, V2_KNOWN_FIELDS)
    status, body = v2_body(raw, outcome, clock)
    return render(status, body, field, outcome_source(outcome))
