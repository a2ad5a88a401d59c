"""The ported-number set while it is being built: one sorted ``uint64`` array of keys.

A key is ``national << 16 | operator id`` (national numbers need 34 bits), so sorting the keys sorts the
numbers and carries each number's recipient along, in place, with no index array. 30 M ported numbers take
240 MB here and every operation below works in place or block by block, which keeps an MNP import of that size
well under 500 MB resident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from worker.data.dataset.format import KEY_SHIFT
from worker.data.formats.port_rows import REMOVE

Keys = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
BLOCK: Final = 1 << 20
SHIFT: Final = np.uint64(KEY_SHIFT)
OWNER_MASK: Final = np.uint64(0xFFFF)


def make_keys(numbers: npt.NDArray[np.uint64], operators: npt.NDArray[Any]) -> Keys:
    return (numbers.astype(np.uint64) << SHIFT) | operators.astype(np.uint64)


def numbers_of(keys: Keys) -> npt.NDArray[np.uint64]:
    return keys >> SHIFT


def filter_in_place(keys: Keys, keep: Callable[[Keys], Mask]) -> int:
    """Move the keys ``keep`` accepts to the front of ``keys``, block by block; returns how many."""
    kept = 0
    for low in range(0, len(keys), BLOCK):
        block = keys[low : low + BLOCK]
        survivors = block[keep(block)]  # a copy: safe to write left of ``low``
        keys[kept : kept + len(survivors)] = survivors
        kept += len(survivors)
    return kept


def map_in_place(keys: Keys, change: Callable[[Keys], Keys]) -> None:
    for low in range(0, len(keys), BLOCK):
        keys[low : low + BLOCK] = change(keys[low : low + BLOCK])


class Growing:
    """Keys appended block by block into one buffer with spare room (growing it copies, so size it well)."""

    def __init__(self, capacity: int) -> None:
        self.keys: Keys = np.empty(max(capacity, 1), dtype=np.uint64)
        self.size = 0

    def append(self, keys: Keys) -> None:
        needed = self.size + len(keys)
        if needed > len(self.keys):
            grown = np.empty(max(needed, len(self.keys) * 3 // 2), dtype=np.uint64)
            grown[: self.size] = self.keys[: self.size]
            self.keys = grown
        self.keys[self.size : needed] = keys
        self.size = needed


def sort_unique(keys: Keys) -> int:
    """Sort in place and keep one key per number at the front (a snapshot lists each number once)."""
    keys.sort()
    kept = 0
    previous_last: np.uint64 | None = None
    for low in range(0, len(keys), BLOCK):
        block = keys[low : low + BLOCK].copy()  # compaction may overwrite the original positions
        numbers = block >> SHIFT
        mask = np.empty(len(block), dtype=np.bool_)
        mask[1:] = numbers[1:] != numbers[:-1]
        mask[0] = previous_last is None or numbers[0] != previous_last
        previous_last = numbers[-1]
        survivors = block[mask]
        keys[kept : kept + len(survivors)] = survivors
        kept += len(survivors)
    return kept


def last_wins(numbers: npt.NDArray[np.uint64], operators: npt.NDArray[np.uint16]) -> Keys:
    """Sorted unique keys of rows given in time order, the last row of each number winning (increments)."""
    order = np.argsort(numbers, kind="stable")
    numbers, operators = numbers[order], operators[order]
    last = np.ones(len(numbers), dtype=np.bool_)
    last[:-1] = numbers[1:] != numbers[:-1]
    return make_keys(numbers[last], operators[last])


def additions(changes: Keys) -> int:
    return int(np.count_nonzero((changes & OWNER_MASK) != np.uint64(REMOVE)))


def apply_changes(buffer: Keys, size: int, changes: Keys) -> tuple[Keys, int]:
    """``buffer[:size]`` with every number in ``changes`` given its new state (``REMOVE`` drops it).

    Both are sorted and unique. The result is compacted in place and the additions written after it, in the
    buffer's spare room when it has enough (the caller sized it with :func:`additions`), else in a new one.
    """
    changed = numbers_of(changes)

    def untouched(block: Keys) -> Mask:
        numbers = block >> SHIFT
        where = np.searchsorted(changed, numbers)
        hit = where < len(changed)
        hit[hit] = changed[where[hit]] == numbers[hit]
        return ~hit

    kept = filter_in_place(buffer[:size], untouched)
    added = changes[(changes & OWNER_MASK) != np.uint64(REMOVE)]
    total = kept + len(added)
    if total > len(buffer):
        grown = np.empty(total, dtype=np.uint64)
        grown[:kept] = buffer[:kept]
        buffer = grown
    buffer[kept:total] = added
    buffer[:total].sort()
    return buffer, total
