"""Upstream MNP sources put to use: which numbers are worth asking, the caches in front, one request per
number, the shared budget, the breaker, the deadline and the background refresh queue.

A Russian mobile answer from local data is *refined* (:meth:`Upstreams.refine`):

1. not asked when local MNP data younger than ``mnp_max_age`` already answers (the number is in it, or the
   data is a full ``Port_All`` snapshot), nor for any line that is not mobile;
2. the in-process LRU, then Redis (or the SQLite file): a remembered answer, failure or learned port — unless
   an official MNP import is newer than it;
3. else one request, shared by every lookup of that number in this process and, through a short claim, on
   every replica; sources are tried in their order, each only while its breaker is closed and its shared
   budget has a token. The caller waits at most the deadline: past it, it gets the local answer and the
   request carries on into the cache. A spent budget answers locally at once and queues the number for a
   background refresh (deduplicated, bounded).

Nothing here ever fails a lookup: every upstream problem ends in the local answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import PurePath
from typing import Final

import aiohttp
from prometheus_client.core import Metric

from worker.answer.model import CACHE, UPSTREAM, Operator, RussianAnswer
from worker.data.dataset.format import Dataset
from worker.errors import UpstreamError, UpstreamSent
from worker.lookup.upstream import stats
from worker.lookup.upstream.sources import Verdict
from worker.lookup.upstream.stats import CacheStats, SourceState, outcome_of
from worker.lookup.upstream.store import Entry, EntryLRU, UpstreamStore
from worker.lookup.upstream.verdicts import OperatorIndex, apply, is_ported
from worker.settings import UpstreamSettings

log = logging.getLogger(__name__)

POLL: Final = 0.02  # seconds between looks at the cache while another replica asks
BREAKER_POLL: Final = 1.0  # seconds between looks at the breakers while every one is open
SERVER_ERROR_HOLD: Final = 1.0  # seconds a source that answered 5xx (or 429 without Retry-After) rests


class Upstreams:
    def __init__(
        self,
        settings: UpstreamSettings,
        sources: Sequence[SourceState],
        store: UpstreamStore,
        session: aiohttp.ClientSession,
    ) -> None:
        self.settings = settings
        self.sources = list(sources)
        self.store = store
        self.session = session
        self.cache = CacheStats()
        self.memory = EntryLRU(settings)
        self.operators = OperatorIndex()
        self.inflight: dict[str, asyncio.Task[tuple[Entry | None, str]]] = {}
        self.queue: asyncio.Queue[tuple[str, Operator]] = asyncio.Queue(settings.queue)
        self.queued: set[str] = set()
        # how long a request may take, retries included: the claim other replicas wait on lives that long
        self.claim_seconds = max(
            (s.source.settings.timeout * (1 + s.source.settings.retries) for s in self.sources), default=1.0
        )

    # -- what the engine calls ---------------------------------------------------------------------------

    def wanted(self, answer: RussianAnswer, dataset: Dataset | None) -> bool:
        """Can an upstream change this answer? Mobile numbers only, and not what fresh MNP data covers."""
        if not self.sources or answer.allocation.line_type.id != "MOB":
            return False
        meta = dataset.meta if dataset is not None else None
        if meta is None or meta.mnp_updated is None:
            return True
        if time.time() - meta.mnp_updated.timestamp() > self.settings.mnp_max_age:
            return True
        complete = any(PurePath(name).name.startswith("Port_All") for name in meta.mnp_sources)
        return answer.ported_to is None and not complete

    async def refine(
        self, answer: RussianAnswer, dataset: Dataset | None, deadline: float | None = None
    ) -> RussianAnswer:
        """The answer with the upstream's verdict when one is known or comes within ``deadline`` seconds."""
        if not self.wanted(answer, dataset):
            return answer
        remembered = await self.remembered(answer, dataset)
        return remembered if remembered is not None else await self.ask(answer, dataset, deadline)

    async def remembered(self, answer: RussianAnswer, dataset: Dataset | None) -> RussianAnswer | None:
        """The answer as a remembered upstream outcome makes it; ``None``: nothing usable remembered."""
        digits = "7" + answer.national
        entry = self.memory.get(digits)
        if entry is not None:
            self.cache.memory += 1
        else:
            entry = await self.store.get(digits)
            if entry is None or self._superseded(entry, dataset):
                return None
            self.cache.shared += 1
            self.memory.put(digits, entry)
        if self._superseded(entry, dataset):
            return None
        return apply(answer, entry, CACHE, self.operators.of(dataset))

    async def ask(
        self, answer: RussianAnswer, dataset: Dataset | None, deadline: float | None = None
    ) -> RussianAnswer:
        """Ask (or join the request already out) and wait at most ``deadline`` seconds for it."""
        digits = "7" + answer.national
        self.cache.misses += 1
        task = self.inflight.get(digits)
        if task is None:
            usable = [state for state in self.sources if state.breaker.state != "open"]
            now = time.monotonic()
            if not usable or all(state.quiet_until > now for state in usable):
                # every source is down or known to have no token yet: answer now, no round trip to Redis
                if usable:
                    self._enqueue(digits, answer.allocation.operator)
                return answer
            task = self._start(digits, answer.allocation.operator, dataset)
        else:
            self.cache.coalesced += 1
        try:
            async with asyncio.timeout(self.settings.deadline if deadline is None else deadline):
                entry, via = await asyncio.shield(task)
        except TimeoutError:
            self.cache.late += 1
            return answer
        except Exception:  # logged where the task ends (_finished); the caller gets the local answer
            return answer
        if entry is None:
            return answer
        return apply(answer, entry, via, self.operators.of(dataset))

    def _superseded(self, entry: Entry, dataset: Dataset | None) -> bool:
        """An official MNP import newer than what the upstream said wins over it."""
        updated = dataset.meta.mnp_updated if dataset is not None else None
        return updated is not None and entry.at < updated.timestamp()

    # -- asking ------------------------------------------------------------------------------------------

    def _start(
        self, digits: str, holder: Operator, dataset: Dataset | None
    ) -> asyncio.Task[tuple[Entry | None, str]]:
        task = asyncio.create_task(self._fetch(digits, holder, dataset), name=f"upstream-{digits}")
        self.inflight[digits] = task
        task.add_done_callback(lambda done: self._finished(digits, done))
        return task

    def _finished(self, digits: str, task: asyncio.Task[tuple[Entry | None, str]]) -> None:
        self.inflight.pop(digits, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("upstream lookup of %s failed", digits, exc_info=task.exception())

    async def _fetch(
        self, digits: str, holder: Operator, dataset: Dataset | None = None, *, patient: bool = False
    ) -> tuple[Entry | None, str]:
        """Ask the sources in order; the outcome is remembered for everyone. ``patient``: wait for a token
        instead of queueing (the background refresh)."""
        if not await self.store.claim(digits, self.claim_seconds):
            self.cache.coalesced += 1
            return await self._wait_for_other(digits), CACHE
        try:
            # Another process may have asked, stored and released between our cache miss and our claim
            # (seen on a loaded machine): its answer is there now, and the upstream must not be asked twice.
            entry = await self.store.get(digits)
            if entry is not None and not self._superseded(entry, dataset):
                self.memory.put(digits, entry)
                self.cache.coalesced += 1
                return entry, CACHE
            return await self._ask_sources(digits, holder, patient)
        finally:
            await self.store.release(digits)

    async def _ask_sources(self, digits: str, holder: Operator, patient: bool) -> tuple[Entry | None, str]:
        while True:
            failed, wait = False, None
            for state in self.sources:
                breaker = state.breaker
                if breaker.state == "open" or (breaker.state == "half-open" and breaker.trial):
                    continue  # (a trial is out: no token spent on a request the breaker would refuse)
                resting = state.quiet_until - time.monotonic()
                if resting > 0:  # the budget said when its next token comes: no need to ask Redis before
                    wait = resting if wait is None else min(wait, resting)
                    continue
                grant = await state.budget.take()
                if not grant.allowed:
                    state.quiet_until = time.monotonic() + grant.wait
                    wait = grant.wait if wait is None else min(wait, grant.wait)
                    continue
                if not state.breaker.allow():
                    continue
                try:
                    verdict = await self._request(state, digits)
                except UpstreamError as error:
                    if error.status == 429:  # not this number's failure: ask again once the source allows
                        hold = error.retry_after or SERVER_ERROR_HOLD
                        wait = hold if wait is None else min(wait, hold)
                    else:
                        failed = True
                    continue
                entry = Entry(verdict, state.name, time.time())
                await self._remember(digits, entry, holder)
                return entry, UPSTREAM
            if failed:
                entry = Entry(None, "", time.time(), failed=True)
                await self.store.put(digits, entry, self.settings.failure_ttl)
                self.memory.put(digits, entry)
                return entry, UPSTREAM
            if wait is None:  # every breaker open, or every source resting: nothing to do now
                return None, UPSTREAM
            if not patient:
                self._enqueue(digits, holder)
                return None, UPSTREAM
            await asyncio.sleep(max(wait, POLL))

    async def _request(self, state: SourceState, digits: str) -> Verdict | None:
        """One source, one number; a connection failure (the request never left) is retried at once."""
        attempts = 1 + state.source.settings.retries
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                verdict = await state.source.ask(self.session, digits)
            except UpstreamSent as error:
                state.latency.observe(time.perf_counter() - started)
                await self._failed(state, error, outcome_of(error))
                raise
            except UpstreamError as error:
                if attempt + 1 < attempts:
                    continue
                await self._failed(state, error, "unreachable")
                raise
            state.latency.observe(time.perf_counter() - started)
            state.requests["ok" if verdict is not None else "unknown"] += 1
            state.breaker.succeeded()
            return verdict
        raise AssertionError("unreachable")  # pragma: no cover

    async def _failed(self, state: SourceState, error: UpstreamError, outcome: str) -> None:
        state.requests[outcome] += 1
        state.last_error = error.reason
        state.breaker.failed()
        log.info("upstream %s: %s", state.name, error.reason)
        if error.status == 429 or (error.status is not None and error.status >= 500):
            await state.budget.hold(error.retry_after or SERVER_ERROR_HOLD)  # slow down, every replica

    async def _remember(self, digits: str, entry: Entry, holder: Operator) -> None:
        self.memory.put(digits, entry)
        await self.store.put(digits, entry, self.settings.answer_ttl)
        if entry.verdict is not None:
            if is_ported(entry.verdict, holder):
                await self.store.learn(digits, entry)
            else:  # ported back: an old learned port must not outlive this answer
                await self.store.unlearn(digits)

    async def _wait_for_other(self, digits: str) -> Entry | None:
        """Another process claimed the number: look at the cache until its answer shows or the claim ends."""
        until = time.monotonic() + self.claim_seconds
        while time.monotonic() < until:
            await asyncio.sleep(POLL)
            entry = await self.store.get(digits)
            if entry is not None:
                self.memory.put(digits, entry)
                return entry
        return None

    # -- the background refresh ----------------------------------------------------------------------------

    def _enqueue(self, digits: str, holder: Operator) -> None:
        if digits in self.queued:
            return
        try:
            self.queue.put_nowait((digits, holder))
        except asyncio.QueueFull:
            self.cache.refreshes_dropped += 1
            return
        self.queued.add(digits)
        self.cache.refreshes_queued += 1

    async def refresh_forever(self) -> None:
        """Ask for the queued numbers as the budget allows; runs until cancelled."""
        while True:
            digits, holder = await self.queue.get()
            try:
                while all(state.breaker.state == "open" for state in self.sources):  # noqa: ASYNC110 (time, not an event, reopens them)
                    await asyncio.sleep(BREAKER_POLL)  # nothing to ask: keep the queue for later
                if await self.store.get(digits) is None:  # another replica may have asked meanwhile
                    await self._fetch(digits, holder, patient=True)
            except Exception:  # a task boundary: one bad refresh must not end the others
                log.exception("background refresh of %s failed", digits)
            finally:
                self.queued.discard(digits)
            # A full queue and a store that answers without suspending (SQLite) would otherwise keep the
            # event loop from every caller until the queue is empty.
            await asyncio.sleep(0)

    # -- what /health and /metrics show ----------------------------------------------------------------

    def health(self) -> list[dict[str, object]]:
        return [state.health() for state in self.sources]

    def collect(self) -> Iterator[Metric]:
        yield from stats.collect(self.sources, self.cache, self.queue.qsize())


@contextlib.asynccontextmanager
async def refreshing(upstreams: Upstreams) -> AsyncIterator[Upstreams]:
    """Run the background refresh for the duration of the block; requests still out are cancelled after."""
    task = asyncio.create_task(upstreams.refresh_forever(), name="upstream-refresh")
    try:
        yield upstreams
    finally:
        pending = [task, *upstreams.inflight.values()]
        for each in pending:
            each.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
