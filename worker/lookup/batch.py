"""Many numbers at once (``numlookup enrich``): the engine's answers as table columns, at a file's speed.

A lookup one at a time costs microseconds of Python; a million-row file needs less per row. Here the Russian
numbers of a batch are looked up together over the dataset's arrays (``numpy.searchsorted`` over the
ranges, a vectorised bisect inside each 6-digit bucket of ported numbers), and a row's columns are put
together from parts worked out once: each range's place (:func:`worker.answer.table.place_columns`, from
the very :class:`Allocation` the engine builds) and each operator's brand, by the same
:func:`~worker.answer.table.russian_columns` the one-number path uses. Everything else (foreign numbers,
numbers in no range, input errors) goes through :meth:`LookupEngine.lookup_now` one by one. So the answers
are the engine's (``tests/test_enrich.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from worker.answer.table import columns, operator_columns, place_columns
from worker.answer.voxlink import Outcome
from worker.errors import InvalidNumber
from worker.lookup.engine import LookupEngine
from worker.numbers import is_russian, parse

NOT_PORTED = -1
SHORT = 24  # characters of a cell the vectorised parse takes; longer ones go through worker.numbers
_POWERS_11 = 10 ** np.arange(10, -1, -1, dtype=np.int64)
_SEPARATORS = (" ", "\t", "-", ".", "(", ")", "\u00a0")  # as worker.numbers._SEPARATORS
_RUSSIA = 70_000_000_000
_OTHERS = 20_000  # answers of other numbers remembered by raw text
_ROWS = 20_000  # columns remembered by (place, operator, recipient)


class BatchLookup:
    """The :data:`worker.answer.table.COLUMNS` of every number of a batch, in order, on the engine's
    dataset of the moment."""

    def __init__(self, engine: LookupEngine) -> None:
        self.engine = engine
        self.dataset = dataset = engine.dataset  # one version for the whole run
        self.arrays = dataset.lookup_arrays() if dataset is not None else None
        # the 4 MB bucket index in this process's own memory: every lookup reads it (see _recipients)
        self._offsets = (
            self.arrays.offsets.astype(np.int64) if self.arrays is not None else np.zeros(0, np.int64)
        )
        # each range's place (interned: ranges of one region share it), as an index into self._places
        self._place_of = np.full(len(dataset) if dataset is not None else 0, -1, dtype=np.int64)
        self._places: list[tuple[str, ...]] = []
        self._place_ids: dict[tuple[str, ...], int] = {}
        self._rows: dict[int, tuple[str, ...]] = {}  # place << 32 | holder << 16 | recipient → columns
        self._others: dict[str, tuple[str, ...]] = {}

    def run(self, raws: Sequence[str]) -> list[tuple[str, ...]]:
        if self.arrays is None:
            return [self._other(raw) for raw in raws]
        out = np.empty(len(raws), dtype=object)
        fast = russian_nationals(raws)
        positions = [np.flatnonzero(fast >= 0)]
        numbers = [fast[positions[0]]]
        resolved: list[int] = []
        nationals: list[int] = []
        for position in np.flatnonzero(fast < 0).tolist():  # not plainly Russian: parse() decides
            raw = raws[position]
            national = self._national(raw)
            if national is None:
                out[position] = self._other(raw)
            else:
                resolved.append(position)
                nationals.append(national)
        positions.append(np.array(resolved, dtype=np.int64))
        numbers.append(np.array(nationals, dtype=np.int64))
        self._russian(np.concatenate(numbers), np.concatenate(positions), raws, out)
        result: list[tuple[str, ...]] = out.tolist()
        return result

    @staticmethod
    def _national(raw: str) -> int | None:
        """The national number of a Russian number, else ``None``."""
        try:
            digits = parse(raw)
        except InvalidNumber:
            return None
        return int(digits) - _RUSSIA if is_russian(digits) else None

    def _other(self, raw: str) -> tuple[str, ...]:
        found = self._others.get(raw)
        if found is not None:
            return found
        outcome: Outcome
        try:
            outcome = self.engine.lookup_now(raw)
        except InvalidNumber as error:
            outcome = error
        rendered = columns(outcome)
        if len(self._others) >= _OTHERS:
            self._others.clear()
        self._others[raw] = rendered
        return rendered

    def _russian(
        self,
        numbers: npt.NDArray[np.int64],
        positions: npt.NDArray[np.int64],
        raws: Sequence[str],
        out: npt.NDArray[np.object_],
    ) -> None:
        arrays = self.arrays
        assert arrays is not None
        index = np.searchsorted(arrays.starts, numbers, side="right") - 1
        safe = np.maximum(index, 0)
        inside = (index >= 0) & (numbers <= arrays.ends[safe])
        for position in positions[~inside].tolist():  # in no range: the engine's answer, one by one
            out[position] = self._other(raws[position])
        numbers, positions, ranges = numbers[inside], positions[inside], safe[inside]
        holders = arrays.operators[ranges].astype(np.int64)
        recipients = self._recipients(numbers)
        # ported: a recipient other than the range holder (as Dataset.russian decides)
        recipients = np.where((recipients != NOT_PORTED) & (recipients != holders), recipients, 0xFFFF)
        keys = (self._places_of(ranges) << 32) | (holders << 16) | recipients
        unique, inverse = np.unique(keys, return_inverse=True)
        rows = np.empty(len(unique), dtype=object)
        cache = self._rows
        for slot, key in enumerate(unique.tolist()):
            row = cache.get(key)
            if row is None:
                if len(cache) >= _ROWS:
                    cache.clear()
                row = cache[key] = self._columns(key)
            rows[slot] = row
        out[positions] = rows[inverse]

    def _places_of(self, ranges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The place id of each range, worked out (from the engine's own Allocation) the first time."""
        places = self._place_of[ranges]
        missing = places < 0
        if missing.any():
            dataset = self.dataset
            assert dataset is not None
            for range_index in np.unique(ranges[missing]).tolist():
                place = place_columns(dataset.allocation_at(range_index))
                place_id = self._place_ids.get(place)
                if place_id is None:
                    place_id = self._place_ids[place] = len(self._places)
                    self._places.append(place)
                self._place_of[range_index] = place_id
            places = self._place_of[ranges]
        return places

    def _columns(self, key: int) -> tuple[str, ...]:
        dataset = self.dataset
        assert dataset is not None
        place = self._places[key >> 32]
        holder, recipient = dataset.operators[(key >> 16) & 0xFFFF], key & 0xFFFF
        if recipient == 0xFFFF:  # not ported
            return operator_columns(holder, None) + place
        return operator_columns(dataset.operators[recipient], holder) + place

    def _recipients(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The recipient operator of each ported number, :data:`NOT_PORTED` for the others: a bisect over
        each number's 6-digit bucket of ported tails, done for the whole batch at once.

        The tails are read through their memory map (the bisect probes them several times per number: at
        most the 60 MB of a full-size ``ported.num`` become resident); the recipients of the hits straight
        from the file (:meth:`Dataset.owners_at`): through the map, each page fault would map its neighbours
        too (the kernel's fault-around, 64 KB), and a few thousand hits would map all of ``ported.op``."""
        arrays, dataset = self.arrays, self.dataset
        assert arrays is not None
        assert dataset is not None
        result = np.full(len(numbers), NOT_PORTED, dtype=np.int64)
        if len(arrays.tails) == 0:
            return result
        buckets = numbers // 10_000
        tails = (numbers % 10_000).astype(np.uint16)
        low = self._offsets[buckets].astype(np.int64)
        high = self._offsets[buckets + 1].astype(np.int64)
        end = high.copy()
        open_ = np.flatnonzero(low < high)
        while open_.size:
            middle = (low[open_] + high[open_]) >> 1
            below = arrays.tails[middle] < tails[open_]
            low[open_] = np.where(below, middle + 1, low[open_])
            high[open_] = np.where(below, high[open_], middle)
            open_ = open_[low[open_] < high[open_]]
        candidates = np.flatnonzero(low < end)
        hits = candidates[arrays.tails[low[candidates]] == tails[candidates]]
        result[hits] = dataset.owners_at(low[hits].tolist())
        return result


def russian_nationals(raws: Sequence[str]) -> npt.NDArray[np.int64]:
    """The national number of each cell that is plainly a Russian number as :func:`worker.numbers.parse`
    reads it (``+7…``, ``7…``/``8…`` with 11 digits, 10 digits; separators between), else -1: the batch's
    cells parsed at once with ``numpy.strings``. A -1 is "ask parse()", never "not Russian"."""
    count = len(raws)
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=count)
    cells = np.array([raw if len(raw) <= SHORT else "" for raw in raws], dtype=f"<U{SHORT}")
    # numpy drops trailing NULs: a cell that lost any is left to parse()
    usable = (lengths <= SHORT) & (np.strings.str_len(cells) == lengths)
    text = np.strings.strip(cells)
    plus = np.strings.startswith(text, "+")
    body = np.where(plus, np.strings.slice(text, 1, None), text)
    for separator in _SEPARATORS:
        body = np.strings.replace(body, separator, "")
    body = body.astype(f"<U{SHORT}")
    size = np.strings.str_len(body)
    points = body.view(np.uint32).reshape(count, SHORT)
    ascii_digits = np.all(((points >= 48) & (points <= 57)) | (points == 0), axis=1) & (size > 0)
    first = points[:, 0] - 48
    candidate = usable & ascii_digits & ((size == 10) | (size == 11))
    value = np.full(count, -1, dtype=np.int64)
    digits = points[:, :11].astype(np.int64) - 48  # the value from the code points: no string parsing
    value[size == 11] = digits[size == 11] @ _POWERS_11
    value[size == 10] = digits[size == 10, :10] @ _POWERS_11[1:]
    value[~candidate] = -1
    national = np.full(count, -1, dtype=np.int64)
    eleven = candidate & (size == 11)
    with_seven = eleven & (first == 7)
    national[with_seven] = value[with_seven] - 7 * 10**10
    with_eight = eleven & ~plus & (first == 8)
    national[with_eight] = value[with_eight] - 8 * 10**10
    ten = candidate & (size == 10) & ~plus & ~((first == 0) & (points[:, 1] == 48))  # "00…" is international
    national[ten] = value[ten]
    kazakh = (national // 10**9 == 6) | (national // 10**9 == 7)
    national[kazakh] = -1
    return national
