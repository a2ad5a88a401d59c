"""An answer as dialplan variables (``NUM_*`` and the JSON one), for the AMI worker and FastAGI alike.

Caller ID is attacker-controlled, and so is everything the dialplan passes along: :func:`one_line` and
:data:`VARIABLE_NAME` are what keep it from adding AMI headers, actions or AGI commands.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from worker.answer.calling import DEFAULT_CLOCK, Clock
from worker.answer.model import Answer, NotFound, RussianAnswer, source_of
from worker.answer.timezones import zones_of
from worker.answer.translit import latin
from worker.answer.voxlink import V2_NOT_FOUND, Meaning, meaning, to_json, v1, v2

VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Characters that end or could end an AMI line (Asterisk splits on LF), or that no channel variable needs.
_UNSAFE: Final = dict.fromkeys([*range(0x20), 0x7F, 0x85, 0x2028, 0x2029])
_UNSAFE.pop(0x09)  # tab stays: harmless inside a header value


def one_line(value: str) -> str:
    """``value`` without CR, LF or other control characters, so it cannot add AMI headers or actions."""
    return value.translate(_UNSAFE) if not value.isprintable() else value


def variables(
    answer: Answer,
    *,
    version: Literal[1, 2] = 1,
    var: str = "var",
    loaded: bool = True,
    clock: Clock = DEFAULT_CLOCK,
) -> list[tuple[str, str]]:
    """Dialplan variables for the AMI worker and FastAGI, ``NUM_STATUS`` last.

    ``var`` holds the whole answer as JSON (v1 for Russian numbers unless ``version`` is 2; v2 for every
    other country, since v1 cannot describe them), so ``${JSON_DECODE(var,operator)}`` works. The status
    means what the HTTP API says (:func:`worker.answer.voxlink.meaning`): what is no phone number at all
    ("0", "123") is ``INVALID`` as v1's "Неверный формат номера"; a Russian number with no registry data
    loaded (``loaded`` false) is ``ERROR`` for a v1 request, as v1's 503.
    """
    found = meaning(answer, loaded=loaded)
    if found == Meaning.MALFORMED:
        return failure_variables("INVALID", var)
    if found == Meaning.NO_DATA and version == 1:
        return failure_variables("ERROR", var)
    if isinstance(answer, NotFound):
        return [(var, to_json(V2_NOT_FOUND)), ("NUM_STATUS", "NOT_FOUND")]
    clock = clock.frozen()
    body2 = v2(answer, clock)
    pairs: list[tuple[str, str]] = []
    if isinstance(answer, RussianAnswer):
        old = answer.old_operator
        allocation = answer.allocation
        locality = allocation.locality or ""
        latin_names = version == 2
        pairs += [
            ("NUM_OPERATOR", answer.operator.brand_latin if latin_names else answer.operator.brand),
            ("NUM_OLD_OPERATOR", "" if old is None else (old.brand_latin if latin_names else old.brand)),
            ("NUM_REGION", latin(allocation.region) if latin_names else allocation.region),
            ("NUM_LOCALITY", latin(locality) if latin_names else locality),
        ]
        document = to_json(body2) if version == 2 else to_json(v1(answer))
    else:
        pairs += [
            ("NUM_OPERATOR", str(body2.get("registrar", ""))),
            ("NUM_OLD_OPERATOR", ""),
            ("NUM_REGION", str(body2.get("location", ""))),
            ("NUM_LOCALITY", ""),
        ]
        document = to_json(body2)
    pairs += [
        ("NUM_COUNTRY", str(body2["flag_iso"])),
        ("NUM_DESTINATION", str(body2["destination"])),
        ("NUM_TYPE", str(body2["type_id"])),
        ("NUM_SOURCE", source_of(answer)),
        *_time_variables(answer, clock),
        (var, document),
        ("NUM_STATUS", "NOT_FOUND" if found == Meaning.NOT_IN_REGISTRY and version == 1 else "OK"),
    ]
    return pairs


def failure_variables(result: Literal["INVALID", "ERROR"], var: str = "var") -> list[tuple[str, str]]:
    """What the dialplan sees when the number was malformed or the lookup failed."""
    return [(var, ""), ("NUM_STATUS", result)]


def _time_variables(answer: Answer, clock: Clock) -> list[tuple[str, str]]:
    zones = zones_of(answer)
    if zones is None:
        return [("NUM_TZ", ""), ("NUM_LOCAL_TIME", ""), ("NUM_CALLABLE", "")]
    local = clock.local(zones)
    return [
        ("NUM_TZ", zones.main),
        ("NUM_LOCAL_TIME", local.wall_clock),
        ("NUM_CALLABLE", "1" if local.callable else "0"),
    ]
