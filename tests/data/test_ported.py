"""The in-place key-array operations against a dict model (small blocks, so block edges are crossed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.data.dataset import ported
from worker.data.formats.port_rows import REMOVE

numbers = st.integers(min_value=9_000_000_000, max_value=9_000_000_040)
owners = st.integers(min_value=0, max_value=5)
rows = st.lists(st.tuples(numbers, owners), max_size=60)
changes = st.lists(st.tuples(numbers, st.one_of(owners, st.just(REMOVE))), max_size=60)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ported, "BLOCK", 7)


def as_dict(keys: ported.Keys) -> dict[int, int]:
    owners = keys & ported.OWNER_MASK  # how the importers read a key's operator
    return dict(zip(ported.numbers_of(keys).tolist(), owners.tolist(), strict=True))


@settings(max_examples=200, deadline=None)
@given(base_rows=rows, change_rows=changes, spare=st.integers(min_value=0, max_value=80))
def test_snapshot_then_changes_match_a_dict(
    base_rows: list[tuple[int, int]], change_rows: list[tuple[int, int]], spare: int
) -> None:
    buffer = ported.Growing(3)  # grows past its first capacity
    for number, owner in base_rows:
        buffer.append(ported.make_keys(np.array([number], np.uint64), np.array([owner], np.uint16)))
    size = ported.sort_unique(buffer.keys[: buffer.size])
    snapshot = as_dict(buffer.keys[:size])
    assert set(snapshot) == {number for number, _owner in base_rows}  # one row per number survives
    expected = dict(snapshot)
    for number, owner in change_rows:
        if owner == REMOVE:
            expected.pop(number, None)
        else:
            expected[number] = owner
    change_keys = ported.last_wins(
        np.array([n for n, _ in change_rows], np.uint64), np.array([o for _, o in change_rows], np.uint16)
    )
    keys = np.empty(size + spare, np.uint64)
    keys[:size] = buffer.keys[:size]
    keys, size = ported.apply_changes(keys, size, change_keys)
    result = keys[:size]
    assert (np.diff(result.astype(np.int64)) > 0).all()
    assert as_dict(result) == expected


@settings(max_examples=100, deadline=None)
@given(base_rows=rows, cut=st.integers(min_value=0, max_value=5))
def test_filter_in_place_keeps_order_and_matches(base_rows: list[tuple[int, int]], cut: int) -> None:
    keys = np.sort(
        np.unique(
            ported.make_keys(
                np.array([n for n, _ in base_rows], np.uint64), np.array([o for _, o in base_rows], np.uint16)
            )
        )
    )
    expected = keys[(keys & ported.OWNER_MASK) >= cut]
    kept = ported.filter_in_place(keys, lambda block: (block & ported.OWNER_MASK) >= cut)
    assert (keys[:kept] == expected).all()
