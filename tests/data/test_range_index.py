"""The ranges' bucket index finds the range a plain bisect over all of them finds, at every edge.

``Dataset`` narrows the bisect to the ranges that start in a number's 6-digit bucket (``_before``); ranges
here start and end mid-bucket, share a bucket, leave gaps, span many buckets, and touch the first and the
last national number, and every number at and beside each of their edges and each bucket edge near them
is looked up both ways.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tests.conftest import OPERATORS, REGIONS
from worker.data.dataset.format import BUCKET, RANGE_DTYPE, Dataset, Meta, line_type_for_code
from worker.data.dataset.writer import new_version, write_dataset

RANGES = [
    (0, 0),  # the first national number alone
    (7, 9_999),  # up to a bucket's last number
    (10_000, 10_000),  # a bucket's first number alone
    (3_012_345_678, 3_012_345_700),  # inside one bucket
    (3_012_345_701, 3_012_345_701),  # the next number, same bucket
    (3_012_345_900, 3_012_350_123),  # after a gap, into the next bucket
    (9_000_000_000, 9_000_061_999),  # many buckets, ends mid-bucket
    (9_000_062_000, 9_000_062_999),  # starts mid-bucket
    (9_000_063_000, 9_000_063_004),
    (9_000_063_010, 9_000_069_999),
    (9_170_000_000, 9_170_999_999),
    (9_999_990_000, 9_999_999_999),  # the last bucket, to the last national number
]


def test_the_bucket_index_finds_what_a_bisect_finds(tmp_path: Path) -> None:
    ranges = np.array(
        [
            (start, end, n % 4, n % 4, line_type_for_code(start // 10_000_000), 0)
            for n, (start, end) in enumerate(RANGES)
        ],
        dtype=RANGE_DTYPE,
    )
    version = new_version()
    meta = Meta(version, datetime.now(UTC), len(RANGES), 0, len(OPERATORS), ["hand-made"])
    write_dataset(
        tmp_path, meta=meta, operators=OPERATORS, regions=REGIONS, ranges=ranges,
        ported_numbers=np.array([], dtype=np.uint64), ported_operators=np.array([], dtype=np.uint16),
    )  # fmt: skip
    dataset = Dataset(tmp_path)
    starts = [start for start, _ in RANGES]

    def expected(national: int) -> tuple[int, int] | None:
        index = bisect_right(starts, national) - 1
        if index < 0 or national > RANGES[index][1]:
            return None
        return RANGES[index]

    edges = {edge for start, end in RANGES for edge in (start, end, end // BUCKET * BUCKET + BUCKET)}
    edges |= {start // BUCKET * BUCKET for start, _ in RANGES}
    probes = {n + step for n in edges for step in (-2, -1, 0, 1, 2)}
    generator = random.Random(7)
    probes |= {generator.randrange(10**10) for _ in range(20_000)}
    probes = {n for n in probes if 0 <= n < 10**10}
    found = 0
    for national in sorted(probes):
        allocation = dataset.allocation(national)
        answer = dataset.russian(f"7{national:010d}")
        want = expected(national)
        assert (None if allocation is None else (allocation.start, allocation.end)) == want, national
        assert (None if answer is None else (answer.allocation.start, answer.allocation.end)) == want, (
            national
        )
        found += want is not None
    assert found >= 2 * len(RANGES)  # every start and end at least
