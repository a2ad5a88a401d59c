"""The lookup engine: raw text → :mod:`worker.answer`. Every front end asks it and nothing else.

Order of work, cheapest first: the Russian registry ranges and ported numbers of the loaded dataset (in
process, about a microsecond); then the answer caches; then libphonenumber. The dataset is swapped by one
reference assignment (:meth:`LookupEngine.use`), and a lookup reads that reference once, so no answer ever
mixes two versions.
"""

from __future__ import annotations

import logging

from worker.answer import Answer, RussianAnswer
from worker.cache import AnswerCache, MemoryCache
from worker.data.dataset import Dataset
from worker.intl import lookup_foreign
from worker.numbers import parse

log = logging.getLogger(__name__)

NO_DATASET = "none"


class LookupEngine:
    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        memory: MemoryCache | None = None,
        shared: AnswerCache | None = None,
    ) -> None:
        self.dataset = dataset
        self.memory = memory if memory is not None else MemoryCache()
        self.shared = shared

    @property
    def version(self) -> str:
        dataset = self.dataset
        return dataset.version if dataset is not None else NO_DATASET

    def use(self, dataset: Dataset | None) -> Dataset | None:
        """Switch to another dataset atomically; returns the previous one for the caller to close."""
        previous, self.dataset = self.dataset, dataset
        log.info("dataset %s now serving", dataset.version if dataset else NO_DATASET)
        return previous

    def lookup_now(self, raw: str) -> Answer:
        """Answer without awaiting anything: the dataset, then the in-process cache, then libphonenumber.

        Raises :class:`worker.errors.InvalidNumber` for what cannot be a phone number.
        """
        digits = parse(raw)
        dataset = self.dataset
        if dataset is not None and len(digits) == 11 and digits[0] == "7":
            answer = russian(dataset, digits)
            if answer is not None:
                return answer
        key = f"{self.version}:{digits}"
        cached = self.memory.get_now(key)
        if cached is not None:
            return cached
        computed = lookup_foreign(digits)
        self.memory.set_now(key, computed)
        return computed

    async def lookup(self, raw: str) -> Answer:
        """:meth:`lookup_now`, consulting the shared (Redis) cache before libphonenumber."""
        digits = parse(raw)
        dataset = self.dataset
        if dataset is not None and len(digits) == 11 and digits[0] == "7":
            answer = russian(dataset, digits)
            if answer is not None:
                return answer
        version = dataset.version if dataset is not None else NO_DATASET
        key = f"{version}:{digits}"
        cached = self.memory.get_now(key)
        if cached is not None:
            return cached
        if self.shared is not None:
            cached = await self.shared.get(key)
            if cached is not None:
                self.memory.set_now(key, cached)
                return cached
        computed = lookup_foreign(digits)
        self.memory.set_now(key, computed)
        if self.shared is not None:
            await self.shared.set(key, computed)
        return computed


def russian(dataset: Dataset, digits: str) -> RussianAnswer | None:
    """The registry's (and MNP's) answer for ``7`` + 10 digits, or ``None`` outside every range."""
    national = int(digits[1:])
    allocation = dataset.allocation(national)
    if allocation is None:
        return None
    recipient = dataset.recipient(national)
    if recipient is allocation.operator:
        recipient = None
    return RussianAnswer(digits[1:], allocation, recipient)
