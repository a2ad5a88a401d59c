"""The v1 hot path writes, byte for byte, what the general path writes: for ranges, ported numbers and after a
dataset switch, and for every kind of error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PORTED, RANGES, build_small_dataset
from worker.answer.model import RussianAnswer
from worker.answer.voxlink import to_json, v1, v1_reply
from worker.api.replies import reply_response
from worker.api.views import Lookups, V1Bodies
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


@pytest.mark.parametrize(
    "digits",
    [
        "79990000000",  # Russian, in no range: 404 not in the registry
        "89990000000",  # the same, dialled with 8
        "358181201235",  # foreign: the 404 that points at v2
        "77012345678",  # Kazakhstan: foreign too
        "12",  # malformed
        "799999999999999999999",  # too many digits: malformed
    ],
)
def test_hot_path_errors_equal_the_general_ones(engine: LookupEngine, digits: str) -> None:
    lookups = Lookups(engine, batch_limit=10)
    for loaded in (True, False):  # False: no registry loaded (a Russian number is then a 503)
        for _ in range(2):  # the second from the memo
            outcome = lookups.registry_outcome(digits)
            general = reply_response(v1_reply(digits, outcome, loaded=loaded))
            fast = lookups.v1_errors.response(digits, outcome, loaded=loaded)
            assert (fast.status, fast.body, dict(fast.headers)) == (
                general.status,
                general.body,
                dict(general.headers),
            )
