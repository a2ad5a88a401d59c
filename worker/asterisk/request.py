"""From a request (number, answer version, poll variable name) to dialplan variables: shared by the AMI
handler and FastAGI, so both set exactly the same names and values."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

from worker.answer.dialplan import VARIABLE_NAME, failure_variables, one_line, variables
from worker.answer.model import Answer
from worker.errors import InvalidNumber
from worker.lookup.engine import LookupEngine

log = logging.getLogger(__name__)

Pairs = list[tuple[str, str]]
DEFAULT_VAR: Final = "var"
MAX_NUMBER: Final = 64  # characters of caller ID we even try to parse


@dataclass(frozen=True, slots=True)
class Request:
    number: str
    version: Literal[1, 2] = 1
    var: str = DEFAULT_VAR

    @classmethod
    def from_options(cls, number: str, version: str = "", var: str = "") -> Request:
        """Build a request from untrusted text; unusable options fall back to the defaults (logged)."""
        chosen_version: Literal[1, 2] = 2 if version.strip() in ("2", "v2") else 1
        if version.strip() not in ("", "1", "v1", "2", "v2"):
            log.warning("ignoring unknown answer version %r; answering v1", one_line(version)[:20])
        name = var.strip() or DEFAULT_VAR
        if VARIABLE_NAME.fullmatch(name) is None:
            log.warning("ignoring unusable variable name %r; using %r", one_line(name)[:70], DEFAULT_VAR)
            name = DEFAULT_VAR
        return cls(number, chosen_version, name)


async def answer_variables(engine: LookupEngine, request: Request) -> list[tuple[str, str]]:
    """The variables for ``request``, ``NUM_STATUS`` last; never raises for bad input or a failed lookup."""
    if len(request.number) > MAX_NUMBER:
        return failure_variables("INVALID", var=request.var)
    try:
        answer = await engine.lookup(request.number)
    except InvalidNumber:
        return failure_variables("INVALID", var=request.var)
    except Exception:  # a task boundary: the dialplan must get a status whatever broke
        log.exception("lookup of %r failed", one_line(request.number))
        return failure_variables("ERROR", var=request.var)
    loaded = engine.dataset is not None
    return variables(answer, version=request.version, var=request.var, loaded=loaded, clock=engine.clock)


@dataclass(frozen=True, slots=True)
class Staged:
    """The variables known now (``NUM_STATUS`` last) and, when an upstream may still change the answer, how
    to wait for the final ones (never raises; at worst they are ``now`` again)."""

    now: Pairs
    later: Callable[[], Awaitable[Pairs]] | None = None


async def staged_variables(engine: LookupEngine, request: Request, *, deadline: float | None) -> Staged:
    """:func:`answer_variables` in two steps, for the AMI worker: the local answer's variables at once, the
    upstream's (within ``deadline`` seconds) after."""
    if len(request.number) > MAX_NUMBER:
        return Staged(failure_variables("INVALID", var=request.var))
    try:
        answer, pending = await engine.lookup_staged(request.number, deadline=deadline)
    except InvalidNumber:
        return Staged(failure_variables("INVALID", var=request.var))
    except Exception:  # a task boundary: the dialplan must get a status whatever broke
        log.exception("lookup of %r failed", one_line(request.number))
        return Staged(failure_variables("ERROR", var=request.var))
    loaded = engine.dataset is not None
    now = variables(answer, version=request.version, var=request.var, loaded=loaded, clock=engine.clock)
    if pending is None:
        return Staged(now)
    wait: Callable[[], Awaitable[Answer]] = pending

    async def later() -> Pairs:
        try:
            better = await wait()
        except Exception:  # the upstream side never fails a lookup; if it did, the local answer stands
            log.exception("upstream lookup of %r failed", one_line(request.number))
            return now
        return variables(better, version=request.version, var=request.var, loaded=loaded, clock=engine.clock)

    return Staged(now, later)
