"""Small dataset versions built directly in the on-disk format, for history, gate and swap tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from worker.answer.model import Operator
from worker.data.dataset.format import RANGE_DTYPE, Meta, line_type_for_code
from worker.data.dataset.store import LocalStore
from worker.data.dataset.writer import new_version, write_dataset

Range = tuple[int, int, Operator, str]  # national start, end, operator, region


def publish_version(
    store: LocalStore,
    ranges: Sequence[Range],
    *,
    ported: dict[int, Operator] | None = None,
    keep: int = 5,
    source: str = "hand-made",
) -> Meta:
    """Write ``ranges`` (and ported numbers) as a new version of ``store`` and make it current."""
    ported = ported or {}
    operators: list[Operator] = []
    regions: list[str] = []
    for _, _, operator, region in ranges:
        if operator not in operators:
            operators.append(operator)
        if region not in regions:
            regions.append(region)
    for operator in ported.values():
        if operator not in operators:
            operators.append(operator)
    table = np.array(
        [
            (
                start,
                end,
                operators.index(op),
                regions.index(region),
                line_type_for_code(start // 10_000_000),
                0,
            )
            for start, end, op, region in ranges
        ],
        dtype=RANGE_DTYPE,
    )
    meta = Meta(new_version(), datetime.now(UTC), len(ranges), len(ported), len(operators), [source])
    scratch = store.scratch()
    write_dataset(
        scratch,
        meta=meta,
        operators=operators,
        regions=regions,
        ranges=table,
        ported_numbers=np.array(list(ported), dtype=np.uint64),
        ported_operators=np.array([operators.index(op) for op in ported.values()], dtype=np.uint16),
    )
    store.publish(scratch, meta.version, keep=keep)
    return meta
