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

from worker.data.dataset import KEY_SHIFT

Keys = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
BLOCK: Final = 1 << 20
SHIFT: Final = np.uint64(KEY_SHIFT)
OWNER_MASK: Final = np.uint64(0xFFFF)
REMOVE: Final = 0xFFFF  # operator id of an MNP row that returns a number to its range holder


def make_keys(numbers: npt.NDArray[np.uint64], operators: npt.NDArray[Any]) -> Keys:
    return (numbers.astype(np.uint64) << SHIFT) | operators.astype(np.uint64)


def numbers_of(keys: Keys) -> npt.NDArray[np.uint64]:
    return keys >> SHIFT


def owners_of(keys: Keys) -> npt.NDArray[np.uint16]:
    return (keys & OWNER_MASK).astype(np.uint16)


def filter_in_place(keys: Keys, keep: Callable[[Keys], Mask]) -> Keys:
    """Keep the keys ``keep`` accepts, compacting ``keys`` block by block; returns the kept prefix."""
    kept = 0
    for low in range(0, len(keys), BLOCK):
        block = keys[low : low + BLOCK]
        survivors = block[keep(block)]  # a copy: safe to write left of ``low``
        keys[kept : kept + len(survivors)] = survivors
        kept += len(survivors)
    return keys[:kept]


def map_in_place(keys: Keys, change: Callable[[Keys], Keys]) -> None:
    for low in range(0, len(keys), BLOCK):
        keys[low : low + BLOCK] = change(keys[low : low + BLOCK])


def concatenate_freeing(parts: list[Keys]) -> Keys:
    """One array from many, releasing each part as it is copied (peak: the result plus one part)."""
    total = np.empty(sum(len(part) for part in parts), dtype=np.uint64)
    position = 0
    while parts:
        part = parts.pop(0)
        total[position : position + len(part)] = part
        position += len(part)
        del part
    return total


def sort_unique(keys: Keys) -> Keys:
    """Sort in place and keep one key per number (a snapshot lists each number once)."""
    keys.sort()
    return _first_per_number(keys)


def _first_per_number(keys: Keys) -> Keys:
    # Each block is copied before compaction writes over it; the last number of the previous block is kept
    # aside, so the first key of a block is compared with the original neighbour, not an overwritten one.
    kept = 0
    previous_last: np.uint64 | None = None
    for low in range(0, len(keys), BLOCK):
        block = keys[low : low + BLOCK].copy()
        numbers = block >> SHIFT
        mask = np.empty(len(block), dtype=np.bool_)
        mask[1:] = numbers[1:] != numbers[:-1]
        mask[0] = previous_last is None or numbers[0] != previous_last
        previous_last = numbers[-1]
        survivors = block[mask]
        keys[kept : kept + len(survivors)] = survivors
        kept += len(survivors)
    return keys[:kept]


def last_wins(numbers: npt.NDArray[np.uint64], operators: npt.NDArray[np.uint16]) -> Keys:
    """Sorted unique keys of rows given in time order, the last row of each number winning (increments)."""
    order = np.argsort(numbers, kind="stable")
    numbers, operators = numbers[order], operators[order]
    last = np.ones(len(numbers), dtype=np.bool_)
    last[:-1] = numbers[1:] != numbers[:-1]
    return make_keys(numbers[last], operators[last])


def apply_changes(base: Keys, changes: Keys) -> Keys:
    """``base`` with every number in ``changes`` replaced by its new state (``REMOVE`` drops the number).

    Both are sorted and unique. ``base`` is compacted in place, then grown once for the additions.
    """
    changed = numbers_of(changes)

    def untouched(block: Keys) -> Mask:
        numbers = block >> SHIFT
        where = np.searchsorted(changed, numbers)
        hit = where < len(changed)
        hit[hit] = changed[where[hit]] == numbers[hit]
        return ~hit

    kept = filter_in_place(base, untouched)
    additions = changes[(changes & OWNER_MASK) != np.uint64(REMOVE)]
    if not len(additions):
        return kept
    merged = np.empty(len(kept) + len(additions), dtype=np.uint64)
    merged[: len(kept)] = kept
    del kept, base
    merged[len(merged) - len(additions) :] = additions
    merged.sort()
    return merged
