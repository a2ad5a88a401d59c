"""num.voxlink.ru's HTTP answers, status codes and error bodies included, for the API and the CLI alike.

The API and ``numlookup lookup`` both print these, so the CLI shows exactly what a dialplan's ``CURL()``
would receive. ``Outcome`` is what the engine produced for one request: an answer, or the input error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from worker.answer import V2_NOT_FOUND, Answer, RussianAnswer, to_json, v1, v2
from worker.errors import InvalidNumber

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
    digits = outcome.digits
    if len(digits) == 11 and digits[0] == "7":
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


def render(status: int, body: Body, field: str | None) -> Reply:
    """A single-number reply: the JSON body, or with ``field=`` that field's bare value."""
    if field is not None and status == 200:
        return Reply(200, field_value(body, field), TEXT)
    return Reply(status, to_json(body), JSON)


def v1_reply(raw: str, outcome: Outcome, *, field: str | None = None, translit: bool = False) -> Reply:
    status, body = v1_body(raw, outcome, translit=translit)
    return render(status, body, field)


def v2_reply(raw: str, outcome: Outcome, *, field: str | None = None) -> Reply:
    status, body = v2_body(raw, outcome)
    return render(status, body, field)
