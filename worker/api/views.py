"""The lookup endpoints: num.voxlink.ru's ``/get/`` and ``/get/v2/``, and their batch forms.

Bodies, statuses and error texts come from :mod:`worker.answer.voxlink` (shared with the CLI); this module
only reads the request and wraps the reply. The single-number views are the hot path: a query that is exactly
``num=<digits>`` skips query parsing, and the reply's headers are prebuilt.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import hdrs, web

from worker.answer.calling import Clock, LocalTime
from worker.answer.model import Allocation, Operator, RussianAnswer
from worker.answer.timezones import Zones, zones_of
from worker.answer.voxlink import (
    JSON,
    Meaning,
    Outcome,
    meaning,
    missing_num,
    outcome_source,
    to_json,
    v1,
    v1_body,
    v1_reply,
    v2,
    v2_body,
    v2_reply,
    voxlink_v2,
    zone_fields,
)
from worker.api.replies import echoable, error_response, json_response, reply_head, reply_response
from worker.api.wire import Head, WireResponse
from worker.data.dataset.format import Dataset
from worker.errors import InvalidNumber
from worker.lookup.engine import LookupEngine

TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
# A batch hands the event loop back this often: 1,000 new foreign numbers are ~90 ms of libphonenumber,
# which must not stall every other client's request for that long.
SLICE: Final = 0.001  # seconds: a request waits a slice or two (the loop takes turns), so keep them short

Budget = Callable[[web.Request, int], Awaitable[web.Response | None]]


async def no_budget(request: web.Request, numbers: int) -> web.Response | None:
    return None


def is_on(value: str | None) -> bool:
    return value is not None and value.lower() in TRUE_WORDS


class Lookups:
    def __init__(
        self,
        engine: LookupEngine,
        *,
        batch_limit: int,
        trusted: Callable[[str], bool] = lambda peer: False,
        body_timeout: float = 30.0,
        budget: Budget = no_budget,
    ) -> None:
        self.engine = engine
        self.batch_limit = batch_limit
        self.body_timeout = body_timeout
        self.budget = budget  # the per-address budget of numbers in batches (worker.api.guard)
        self.trusted = trusted  # is this peer a proxy whose X-Forwarded-Proto we believe?
        self.v1_bodies = V1Bodies()
        self.v1_errors = V1Errors()
        self.v2_bodies = V2Bodies()

    def registry_outcome(self, raw: str) -> Outcome:
        """What v1 shows: the registry's answer or a 404 (never libphonenumber's: see ``registry_answer``)."""
        try:
            return self.engine.registry_answer(raw)
        except InvalidNumber as error:
            return error

    async def v1_outcome(self, raw: str) -> Outcome:
        """v1's outcome: the dataset's alone, unless an upstream may know better (a ported number)."""
        return self.registry_outcome(raw) if self.engine.upstream is None else await self.outcome(raw)

    @property
    def loaded(self) -> bool:
        """Whether a registry dataset is loaded (without one, v1 answers a Russian number with a 503)."""
        return self.engine.dataset is not None

    async def outcome(self, raw: str) -> Outcome:
        try:
            return await self.engine.lookup(raw)
        except InvalidNumber as error:
            return error

    async def v1(self, request: web.Request) -> web.StreamResponse:
        raw = bare_digits(request)
        if raw is not None:  # the hot path: ?num=<digits> and nothing else
            if self.engine.upstream is None:  # only the dataset can answer v1: no await, a memoised body
                outcome = self.engine.registry_found(raw) or self.registry_outcome(raw)
                if isinstance(outcome, RussianAnswer):
                    body = self.v1_bodies.body(outcome, self.engine.dataset)
                    return WireResponse(reply_head(200, JSON, outcome.source), body)
                return self.v1_errors.response(raw, outcome, loaded=self.loaded)
            else:
                outcome = await self.outcome(raw)  # an upstream may know the number was ported
            return reply_response(v1_reply(raw, outcome, loaded=self.loaded))
        return await self.queried(request, 1)

    async def v2(self, request: web.Request) -> web.StreamResponse:
        raw = bare_digits(request)
        if raw is not None:
            outcome = await self.outcome(raw)
            if isinstance(outcome, RussianAnswer):  # a memoised body (V2Bodies)
                body = self.v2_bodies.body(outcome, self.engine.dataset, self.engine.clock)
                return WireResponse(reply_head(200, JSON, outcome.source), body)
            return reply_response(v2_reply(raw, outcome, clock=self.engine.clock))
        return await self.queried(request, 2)

    async def queried(self, request: web.Request, version: int) -> web.StreamResponse:
        """A single-number request with a full query string (``field=``, ``translit=``, or any encoding)."""
        query = request.query
        raw = query.get("num")
        if raw is None:
            return self.missing(request, version)
        raw = echoable(raw)
        if version == 1:
            translit = is_on(query.get("translit"))
            outcome = await self.v1_outcome(raw)
            reply = v1_reply(raw, outcome, field=query.get("field"), translit=translit, loaded=self.loaded)
        else:
            reply = v2_reply(raw, await self.outcome(raw), field=query.get("field"), clock=self.engine.clock)
        return reply_response(reply)

    async def v1_batch(self, request: web.Request) -> web.StreamResponse:
        translit = is_on(request.query.get("translit"))
        loaded, dataset = self.loaded, self.engine.dataset

        def body(raw: str, outcome: Outcome) -> bytes:
            if isinstance(outcome, RussianAnswer) and not translit:
                return self.v1_bodies.body(outcome, dataset)
            return to_json(v1_body(raw, outcome, translit=translit, loaded=loaded)[1]).encode()

        return await self.batch(request, body)

    async def v2_batch(self, request: web.Request) -> web.StreamResponse:
        clock = self.engine.clock.frozen()  # one "now" for the whole batch
        dataset = self.engine.dataset

        def body(raw: str, outcome: Outcome) -> bytes:
            if isinstance(outcome, RussianAnswer):
                return self.v2_bodies.body(outcome, dataset, clock)
            return to_json(v2_body(raw, outcome, clock)[1]).encode()

        return await self.batch(request, body)

    async def batch(self, request: web.Request, body: Callable[[str, Outcome], bytes]) -> web.StreamResponse:
        """A batch's answers, in order, each written as the single-number view writes it (from the same
        memos), joined as JSON writes a list; the loop is handed back every :data:`SLICE` seconds."""
        numbers = await self.batch_numbers(request)
        if isinstance(numbers, web.Response):
            return numbers
        refused = await self.budget(request, len(numbers))
        if refused is not None:
            return refused
        bodies: list[bytes] = []
        clock = time.perf_counter
        handback = clock() + SLICE
        for raw in numbers:
            bodies.append(body(raw, await self.outcome(raw)))
            if clock() >= handback:
                await asyncio.sleep(0)  # other clients' requests run here
                handback = clock() + SLICE
        return WireResponse(reply_head(200, JSON, None), b"[" + b", ".join(bodies) + b"]")

    def missing(self, request: web.Request, version: int) -> web.Response:
        """The 404 for a request without ``num``; its examples use the URL the client used (https behind a
        TLS-terminating proxy that says so in ``X-Forwarded-Proto``)."""
        scheme = request.scheme
        peer = request.remote
        if peer is not None and self.trusted(peer):
            forwarded = request.headers.get(hdrs.X_FORWARDED_PROTO, "").strip().lower()
            scheme = forwarded if forwarded in ("http", "https") else scheme
        status, body = missing_num(f"{scheme}://{echoable(request.host)}", version)
        return json_response(status, body)

    async def batch_numbers(self, request: web.Request) -> list[str] | web.Response:
        """The batch body as numbers, or the error reply: 400 for anything but a list, 413 past the limit.

        Elements may be strings or integers (CRMs export numbers as either).
        """
        try:  # past client_max_size: HTTPRequestEntityTooLarge, shaped by the guard
            async with asyncio.timeout(self.body_timeout):
                payload = await request.read()
        except TimeoutError:  # a trickled body must not hold a connection for ever
            response = error_response(
                408, f"Request Timeout: the body took longer than {self.body_timeout:g} s"
            )
            response.force_close()
            return response
        try:
            numbers = json.loads(payload)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return error_response(400, 'Invalid JSON: send a list of numbers, e.g. ["+74959898533"]')
        if not isinstance(numbers, list):
            return error_response(400, 'Send a JSON list of numbers, e.g. ["+74959898533"]')
        if len(numbers) > self.batch_limit:
            return error_response(
                413,
                f"Too many numbers: {len(numbers)}, the limit is {self.batch_limit}",
                limit=self.batch_limit,
            )
        result: list[str] = []
        for index, item in enumerate(numbers):
            if isinstance(item, str):
                result.append(echoable(item))
            elif isinstance(item, int) and not isinstance(item, bool):
                result.append(str(item))
            else:
                return error_response(400, f"Element {index} is not a number or a string")
        return result


class V1Bodies:
    """v1 bodies of numbers in the registry, written from a memo of everything after ``full_num``.

    Everything after ``full_num`` (operator, old operator, region, whatever :func:`voxlink.v1` writes) depends
    only on the number's range and its MNP recipient, which the dataset keeps as shared objects: their JSON is
    written once by :func:`voxlink.v1` itself and reused, and a request only writes its digits in front
    (json.dumps of the whole body was a third of the handler's time). An entry holds the objects it was
    written for, so their ids (the keys) cannot be reused while it exists; the memo is emptied when the
    engine serves another dataset, so as not to keep the old one's objects alive.
    """

    MAX_ENTRIES: Final = 500_000  # ~the registry's ranges; an unusual spread of recipients starts it over

    def __init__(self) -> None:
        self._dataset: Dataset | None = None
        self._tails: dict[tuple[int, int], tuple[Allocation, Operator | None, bytes]] = {}

    def body(self, answer: RussianAnswer, dataset: Dataset | None) -> bytes:
        if dataset is not self._dataset:
            self._dataset, self._tails = dataset, {}
        national = answer.national
        head = f'{{"code": "{national[:3]}", "num": "{national[3:]}", "full_num": "{national}"'
        allocation, ported_to = answer.allocation, answer.ported_to
        key = (id(allocation), id(ported_to))
        entry = self._tails.get(key)
        if entry is None:
            text = to_json(v1(answer))
            if not text.startswith(head):  # a body this does not know how to split: written whole
                return text.encode()
            if len(self._tails) >= self.MAX_ENTRIES:
                self._tails = {}
            entry = self._tails[key] = (allocation, ported_to, text[len(head) :].encode())
        return head.encode() + entry[2]


class V2Bodies:
    """v2 bodies of numbers in the registry, written from memos: per range and MNP recipient, and per minute.

    A Russian number's v2 body is ``cns`` (its range's, or a ported number's own), the fields of its range and
    recipient (:func:`voxlink.voxlink_v2`: country, type, location, registrar, lengths, flag) and its
    local-time fields (:func:`voxlink.zone_fields`), which depend only on its zones and the minute. Each part
    is rendered once by those functions and a request joins them: rendering the whole body was half of a v2
    request. Entries hold the objects whose ids are their keys, as in :class:`V1Bodies`, so an id cannot
    stand for another object while its entry exists.
    """

    MAX_ENTRIES: Final = 500_000  # ~the registry's ranges; an unusual spread of recipients starts it over
    MAX_TIMES: Final = 10_000  # a few hundred sets of zones, each with one local time a minute

    def __init__(self) -> None:
        self._dataset: Dataset | None = None
        self._fields: dict[tuple[int, int], tuple[Allocation, Operator | None, str, Zones | None]] = {}
        self._times: dict[int, tuple[LocalTime, str]] = {}  # id(a LocalTime the clock memoised) → its fields

    def body(self, answer: RussianAnswer, dataset: Dataset | None, clock: Clock) -> bytes:
        if dataset is not self._dataset:
            self._dataset, self._fields = dataset, {}
        allocation, ported_to = answer.allocation, answer.ported_to
        entry = self._fields.get((id(allocation), id(ported_to)))
        if entry is None:
            fields = voxlink_v2(answer)
            cns = fields.pop("cns")
            rest = ", " + to_json(fields)[1:-1]
            if len(self._fields) >= self.MAX_ENTRIES:
                self._fields = {}
            after_cns = rest if ported_to is not None else f"{cns}{rest}"
            entry = self._fields[id(allocation), id(ported_to)] = (
                allocation,
                ported_to,
                after_cns,
                zones_of(answer),
            )
        zones = entry[3]
        if zones is None:  # not for a Russian number (the country's zones at least): rendered whole
            return to_json(v2(answer, clock)).encode()
        # A ported number's cns is the number itself (voxlink_v2: int("7" + national)); a range's is memoised.
        head = f'{{"cns": 7{answer.national}' if ported_to is not None else '{"cns": '
        local = clock.local(zones)
        times = self._times.get(id(local))
        if times is None:
            if len(self._times) >= self.MAX_TIMES:
                self._times = {}
            times = self._times[id(local)] = (local, to_json(zone_fields(zones, local))[1:-1])
        return f"{head}{entry[2]}, {times[1]}}}".encode()


class V1Errors:
    """v1's error replies (404 not in the registry, and the rest) for numbers of bare digits, from a memo.

    An error body differs from another of the same meaning only by the number it quotes, which for bare
    digits JSON writes as they are: each meaning's reply is rendered once by :func:`voxlink.v1_reply` with a
    marker for the number, and a request puts its digits in the marker's place (rendering each 404 afresh
    cost twice a found number's answer, and a tenth of random mobile numbers are in no range).
    """

    MARKER: Final = "\x00"  # what no error text holds: JSON writes it as \u0000

    def __init__(self) -> None:
        self._replies: dict[tuple[Meaning, str | None], tuple[Head, bytes, bytes]] = {}

    def response(self, digits: str, outcome: Outcome, *, loaded: bool) -> WireResponse:
        key = (meaning(outcome, loaded=loaded), outcome_source(outcome))
        reply = self._replies.get(key)
        if reply is None:
            rendered = v1_reply(self.MARKER, outcome, loaded=loaded)
            before, marker, after = rendered.body.partition(json.dumps(self.MARKER)[1:-1])
            if not marker:  # an error body that does not quote the number: nothing to fill in
                return reply_response(v1_reply(digits, outcome, loaded=loaded))
            head = reply_head(rendered.status, rendered.content_type, rendered.source)
            reply = self._replies[key] = (head, before.encode(), after.encode())
        head, before_bytes, after_bytes = reply
        return WireResponse(head, before_bytes + digits.encode() + after_bytes)


def bare_digits(request: web.Request) -> str | None:
    """The number of a query that is exactly ``num=<digits>`` (what dialplans send), else ``None``.

    Reading the raw query string skips building the decoded query mapping (2.5 µs, a tenth of a request).
    """
    query = request.rel_url.raw_query_string
    if query.startswith("num="):
        digits = query[4:]
        if digits.isdigit():  # the raw query string is ASCII: percent-escapes are still escaped
            return digits
    return None
