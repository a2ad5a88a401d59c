"""Asking one upstream MNP source about one number: the request it wants and what its answer says.

``voxlink`` and ``numlookup`` speak num.voxlink.ru's v1 (``GET {url}/get/?num=7XXXXXXXXXX``: 200 with
``operator`` and, for a ported number, ``old_operator``; 404 for a number it does not know). ``http`` is any
JSON API described by a template (:class:`worker.settings.UpstreamSource`). Each request is one attempt;
whether to retry is the caller's decision, told by the exception: :class:`worker.errors.UpstreamError` for
a request that never left (safe to repeat), :class:`worker.errors.UpstreamSent` for one that may have.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Final

import aiohttp

from worker.answer.dialplan import one_line
from worker.errors import UpstreamError, UpstreamSent
from worker.settings import UpstreamSource

MAX_BODY: Final = 64 * 1024  # an answer about one number is a few hundred bytes
MAX_NAME: Final = 200  # characters of an operator's name we keep: what an upstream says is untrusted


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a source said about a number: its current operator (a name, an ИНН or both) and, when the
    source says so, whether it was ported."""

    operator: str
    inn: str = ""
    ported: bool | None = None  # None: the source does not say (compared with the range holder instead)
    old_operator: str = ""
    old_inn: str = ""


def number_form(digits: str, form: str) -> str:
    """``digits`` (``7`` + 10) as an API wants it: 79..., +79..., 89... or the 10 national digits."""
    national = digits[1:]
    return {"plus": "+7" + national, "trunk": "8" + national, "national": national}.get(form, digits)


def dig(document: object, path: str) -> str:
    """The value at a dotted path (``data.operator.name``, ``results.0.inn``) as text; "" when absent."""
    node = document
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return ""
    if isinstance(node, str):
        return one_line(node).strip()[:MAX_NAME]  # one line: it may end up in an AMI action
    if isinstance(node, int | float) and not isinstance(node, bool):
        return str(node)
    return ""


class Source:
    """One configured source; the session is the caller's."""

    def __init__(self, settings: UpstreamSource) -> None:
        self.settings = settings
        self.name = settings.name or settings.kind
        self.kind = settings.kind
        secret = settings.secret.get_secret_value()
        self.headers = {key: value.replace("{secret}", secret) for key, value in settings.headers.items()}
        self.timeout = aiohttp.ClientTimeout(total=settings.timeout)

    def url(self, digits: str) -> str:
        if self.kind == "http":
            return self.settings.url.replace("{number}", number_form(digits, self.settings.number_form))
        return f"{self.settings.url.rstrip('/')}/get/?num={digits}"

    async def ask(self, session: aiohttp.ClientSession, digits: str) -> Verdict | None:
        """The source's verdict, or ``None`` when it does not know the number (a 404)."""
        try:
            async with session.get(self.url(digits), headers=self.headers, timeout=self.timeout) as response:
                status = response.status
                retry_after = _seconds(response.headers.get("Retry-After"))
                body = await response.content.read(MAX_BODY)
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as error:
            raise UpstreamError(self.name, f"cannot connect: {error}") from error
        except TimeoutError as error:
            raise UpstreamSent(self.name, f"no answer within {self.settings.timeout:g}s") from error
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as error:
            raise UpstreamSent(self.name, f"broken answer: {error!r}") from error
        if status == 404:
            return None
        if status != 200:
            raise UpstreamSent(self.name, f"HTTP {status}", status=status, retry_after=retry_after)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise UpstreamSent(self.name, "not JSON", status=status) from error
        verdict = self.parse(document)
        if verdict is None:
            raise UpstreamSent(self.name, "no operator in the answer", status=status)
        return verdict

    def parse(self, document: object) -> Verdict | None:
        if self.kind != "http":  # num.voxlink.ru v1: old_operator present exactly when ported
            operator, old = dig(document, "operator"), dig(document, "old_operator")
            return Verdict(operator, ported=bool(old), old_operator=old) if operator else None
        settings = self.settings
        operator = dig(document, settings.operator) if settings.operator else ""
        inn = dig(document, settings.operator_inn) if settings.operator_inn else ""
        if not operator and not inn:
            return None
        old = dig(document, settings.old_operator) if settings.old_operator else ""
        old_inn = dig(document, settings.old_operator_inn) if settings.old_operator_inn else ""
        says = settings.old_operator is not None or settings.old_operator_inn is not None
        same = (old_inn and old_inn == inn) or (old and old.casefold() == operator.casefold())
        ported = bool(old or old_inn) and not same if says else None
        return Verdict(operator, inn, ported, old, old_inn)


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, min(float(value or 0), 300.0))
    except ValueError:
        return 0.0
