"""The v1 hot path writes, byte for byte, what the general path writes: for ranges, ported numbers and after a
dataset switch."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PORTED, RANGES, build_small_dataset
from worker.answer.model import RussianAnswer
from worker.answer.voxlink import to_json, v1
from worker.api.views import V1Bodies
from worker.data.dataset.format import Dataset
from worker.lookup.engine import LookupEngine


def numbers() -> list[str]:
    """Every range's first, middle and last number and every ported one, twice (the second from the memo)."""
    national = [n for start, end, *_ in RANGES for n in (start, (start + end) // 2, end)] + list(PORTED)
    return [f"7{n}" for n in national] * 2


def test_hot_path_bodies_equal_the_general_ones(engine: LookupEngine) -> None:
    bodies = V1Bodies()
    seen_ported = 0
    for number in numbers():
        answer = engine.registry_answer(number)
        assert isinstance(answer, RussianAnswer)
        seen_ported += answer.ported_to is not None
        assert bodies.body(answer, engine.dataset) == to_json(v1(answer)).encode()
    assert seen_ported >= 4  # ported numbers (with old_operator) went through it too


def test_a_new_dataset_starts_a_new_memo(engine: LookupEngine, tmp_path: Path) -> None:
    bodies = V1Bodies()
    answer = engine.registry_answer("79170415564")
    assert isinstance(answer, RussianAnswer)
    first = bodies.body(answer, engine.dataset)
    build_small_dataset(tmp_path / "next", version="20990101T000000000000Z")
    engine.use(Dataset(tmp_path / "next"))
    again = engine.registry_answer("79170415564")
    assert isinstance(again, RussianAnswer)
    assert again.allocation is not answer.allocation
    assert bodies.body(again, engine.dataset) == first == to_json(v1(again)).encode()
    assert len(bodies._tails) == 1  # the old dataset's entries went with it
