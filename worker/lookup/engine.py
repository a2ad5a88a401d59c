"""The lookup engine: raw text → :mod:`worker.answer.model`. Every front end asks it and nothing else.

Order of work, cheapest first: the Russian registry ranges and ported numbers of the loaded dataset (in
process, about a microsecond); then the answer caches; then libphonenumber. The dataset is swapped by one
reference assignment (:meth:`LookupEngine.use`), and a lookup reads that reference once, so no answer ever
mixes two versions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from worker.answer.calling import DEFAULT_CLOCK, Clock
from worker.answer.model import Answer, NotFound, RussianAnswer
from worker.data.dataset.format import Dataset
from worker.lookup.cache import AnswerCache, Cached, MemoryCache
from worker.lookup.upstream.resolver import Upstreams
from worker.numbers import is_russian, parse, russian_digits

log = logging.getLogger(__name__)

NO_DATASET = "none"


class LookupEngine:
    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        memory: MemoryCache | None = None,
        shared: AnswerCache | None = None,
        upstream: Upstreams | None = None,
        clock: Clock = DEFAULT_CLOCK,
    ) -> None:
        self.dataset = dataset
        self.memory = memory if memory is not None else MemoryCache()
        self.shared = shared
        self.upstream = upstream  # upstream MNP sources (docs/upstreams.md); None: local data only
        self.clock = clock  # "now" and the calling window every front end renders answers with

    @property
    def version(self) -> str:
        dataset = self.dataset
        return dataset.version if dataset is not None else NO_DATASET

    def use(self, dataset: Dataset | None) -> Dataset | None:
        """Switch to another dataset atomically; returns the previous one for the caller to close."""
        previous, self.dataset = self.dataset, dataset
        if previous is not None:
            log.info("dataset switched: %s → %s", previous.version, self.version)
        return previous

    def lookup_now(self, raw: str) -> Answer:
        """Answer without awaiting anything: the dataset, then the in-process cache, then libphonenumber.

        Raises :class:`worker.errors.InvalidNumber` for what cannot be a phone number.
        """
        digits = parse(raw)
        found = self._local(digits)
        return self._compute(found, digits) if isinstance(found, str) else found

    def registry_answer(self, raw: str) -> Answer:
        """What v1 needs: for a Russian number the dataset's answer, else :class:`NotFound` (v1 says "not in
        the registry" whatever libphonenumber would, so its ~60 µs are skipped); any other number gets
        :meth:`lookup_now`'s answer, by which v1 tells a foreign number from a malformed one.

        Raises :class:`worker.errors.InvalidNumber` for what cannot be a phone number.
        """
        digits = parse(raw)
        if not is_russian(digits):
            found = self._local(digits)
            return self._compute(found, digits) if isinstance(found, str) else found
        dataset = self.dataset
        if dataset is not None:
            answer = dataset.russian(digits)
            if answer is not None:
                return answer
        return NotFound(digits)

    def registry_found(self, raw: str) -> RussianAnswer | None:
        """:meth:`registry_answer`'s answer when it is the dataset's, for 11 bare digits starting with 7 or 8;
        ``None`` for any other input or outcome (:meth:`registry_answer` tells those apart). The v1 hot path:
        no slow parsing and no exception on the way."""
        digits = russian_digits(raw)
        dataset = self.dataset
        if digits is None or dataset is None or not is_russian(digits):
            return None
        return dataset.russian(digits)

    async def lookup(self, raw: str, *, deadline: float | None = None) -> Answer:
        """:meth:`lookup_now`, consulting the shared (Redis) cache before libphonenumber, and the upstream
        MNP sources for a mobile number, waiting for them at most ``deadline`` seconds (default: the
        ``upstream.deadline`` setting)."""
        digits = parse(raw)
        found = self._local(digits)
        if not isinstance(found, str):
            upstream = self.upstream
            if upstream is not None and isinstance(found, RussianAnswer):
                return await upstream.refine(found, self.dataset, deadline)
            return found
        if self.shared is None:
            return self._compute(found, digits)
        cached = await self.shared.get(found)
        if cached is not None:
            self.memory.set_now(found, cached)
            return cached
        computed = self._compute(found, digits)
        await self.shared.set(found, computed)
        return computed

    async def lookup_staged(
        self, raw: str, *, deadline: float | None = None
    ) -> tuple[Answer, Callable[[], Awaitable[Answer]] | None]:
        """The answer available now, and when an upstream may still change it, how to wait for that (at
        most ``deadline`` seconds): for the AMI worker, which sets the first answer's variables at once."""
        digits = parse(raw)
        found = self._local(digits)
        upstream, dataset = self.upstream, self.dataset
        if upstream is None or not isinstance(found, RussianAnswer) or not upstream.wanted(found, dataset):
            return await self.lookup(raw, deadline=deadline), None
        remembered = await upstream.remembered(found, dataset)
        if remembered is not None:
            return remembered, None

        async def later() -> Answer:
            assert upstream is not None
            assert isinstance(found, RussianAnswer)
            return await upstream.ask(found, dataset, deadline)

        return found, later

    def _local(self, digits: str) -> Answer | str:
        """The answer when it needs no await (the dataset, the in-process cache), else its cache key."""
        dataset = self.dataset
        if dataset is not None and is_russian(digits):
            answer = dataset.russian(digits)
            if answer is not None:
                return answer
        key = self._cache_key(dataset, digits)
        return self.memory.get_now(key) or key

    @staticmethod
    def _cache_key(dataset: Dataset | None, digits: str) -> str:
        return f"{dataset.version if dataset is not None else NO_DATASET}:{digits}"

    def _compute(self, key: str, digits: str) -> Cached:
        # Imported on first use: libphonenumber's metadata is ~130 MB that the data commands (imports of
        # tens of millions of rows) must not carry; services load it at start-up (service.open_engine).
        from worker.lookup.foreign import lookup_foreign

        computed = lookup_foreign(digits)
        self.memory.set_now(key, computed)
        return computed
