"""Writing one dataset version directory in the layout :mod:`worker.data.dataset.format` describes.

Importers build into a scratch directory with :func:`write_dataset` and publish it only afterwards (see
:class:`worker.data.dataset.store.LocalStore`); ``meta.json`` is written last, so a directory without it was
never finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from worker.answer.model import Operator
from worker.data.dataset.format import BUCKET, BUCKETS, COLUMNS, KEY_SHIFT, Meta
from worker.errors import DataError


def new_version(now: datetime | None = None) -> str:
    """A sortable, unique version name: UTC time to the microsecond."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def write_dataset(
    directory: Path,
    *,
    meta: Meta,
    operators: Sequence[Operator],
    regions: Sequence[str],
    ranges: npt.NDArray[Any],
    ported_numbers: npt.NDArray[np.uint64] | None = None,
    ported_operators: npt.NDArray[np.uint16] | None = None,
    ported_keys: npt.NDArray[np.uint64] | None = None,
    localities: Sequence[str] = ("",),
) -> None:
    """Write a complete version directory. ``ranges`` has :data:`RANGE_DTYPE`; ported numbers are national.
    ``localities[0]`` must be ``""``: a range's ``locality`` 0 means it has none.

    Ported numbers come either as two parallel arrays (any order) or, for tens of millions of them, as
    ``ported_keys``: sorted, unique ``national << 16 | operator`` keys, written block by block without the
    copies a sort would need (see :mod:`worker.data.dataset.ported`).

    The caller writes into a fresh directory and publishes it only after this returns, so a failure never
    leaves a half-written dataset where an engine could load it.
    """
    if len(operators) > 65535 or len(regions) > 65535:
        raise DataError("more than 65535 operators or regions")
    if not localities or localities[0] != "":
        raise DataError('localities[0] must be "" (no locality)')
    directory.mkdir(parents=True, exist_ok=True)
    order = np.argsort(ranges["start"], kind="stable")
    ranges = ranges[order]
    with open(directory / "ranges.bin", "wb") as out:
        for column in COLUMNS:
            out.write(np.ascontiguousarray(ranges[column]).tobytes())
    if ported_keys is not None:
        _write_ported_keys(directory, ported_keys)
    else:
        numbers_in = np.zeros(0, np.uint64) if ported_numbers is None else ported_numbers
        operators_in = np.zeros(0, np.uint16) if ported_operators is None else ported_operators
        order = np.argsort(numbers_in, kind="stable")
        numbers = numbers_in[order]
        buckets = (numbers // BUCKET).astype(np.int64)
        offsets = np.searchsorted(buckets, np.arange(BUCKETS + 1), side="left").astype(np.uint32)
        (directory / "ported.idx").write_bytes(offsets.tobytes())
        (directory / "ported.num").write_bytes((numbers % BUCKET).astype(np.uint16).tobytes())
        (directory / "ported.op").write_bytes(operators_in[order].astype(np.uint16).tobytes())
    _write_json(directory / "operators.json", [_operator_json(op) for op in operators])
    _write_json(directory / "regions.json", list(regions))
    _write_json(directory / "localities.json", list(localities))
    _write_json(directory / "meta.json", meta.to_json())  # last: its presence marks a complete version


_BLOCK: Final = 1 << 21  # keys written per block


def _write_ported_keys(directory: Path, keys: npt.NDArray[np.uint64]) -> None:
    """Write sorted unique ``national << 16 | operator`` keys in blocks: memory stays at one block."""
    bounds = (np.arange(BUCKETS + 1, dtype=np.uint64) * np.uint64(BUCKET)) << np.uint64(KEY_SHIFT)
    offsets = np.searchsorted(keys, bounds, side="left").astype(np.uint32)
    (directory / "ported.idx").write_bytes(offsets.tobytes())
    with open(directory / "ported.num", "wb") as numbers, open(directory / "ported.op", "wb") as owners:
        for low in range(0, len(keys), _BLOCK):
            block = keys[low : low + _BLOCK]
            numbers.write(((block >> np.uint64(KEY_SHIFT)) % np.uint64(BUCKET)).astype(np.uint16).tobytes())
            owners.write((block & np.uint64(0xFFFF)).astype(np.uint16).tobytes())


def _operator_json(operator: Operator) -> dict[str, str]:
    return {"inn": operator.inn, "name": operator.name, "brand": operator.brand}


def _write_json(path: Path, data: object) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
