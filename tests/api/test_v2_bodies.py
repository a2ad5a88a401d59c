"""The v2 hot path (``views.V2Bodies``) writes, byte for byte, what the general path writes: for every range
and ported number, as the minutes pass (the local-time fields), for ranges in several zones, after a dataset
switch, and through the API itself."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.api.conftest import Client
from tests.api.test_v1_bodies import numbers
from tests.conftest import FIXED_CLOCK, MTS, build_small_dataset
from worker.answer.calling import Clock
from worker.answer.model import RussianAnswer
from worker.answer.voxlink import to_json, v2, v2_reply
from worker.api.views import Lookups, V2Bodies
from worker.data.dataset.format import Dataset
from worker.lookup.engine import LookupEngine


def answer_of(engine: LookupEngine, number: str) -> RussianAnswer:
    answer = engine.registry_answer(number)
    assert isinstance(answer, RussianAnswer)
    return answer


def test_hot_path_bodies_equal_the_general_ones(engine: LookupEngine) -> None:
    bodies = V2Bodies()
    ported = 0
    for number in numbers():
        answer = answer_of(engine, number)
        general = to_json(v2(answer, FIXED_CLOCK))
        assert bodies.body(answer, engine.dataset, FIXED_CLOCK) == general.encode()
        ported += answer.ported_to is not None
    assert ported >= 4  # ported numbers (their own cns, registrar_old) went through it


def test_the_local_time_fields_follow_the_clock(engine: LookupEngine) -> None:
    """Every 10 minutes of two days (calling hours open and close; a Friday and a Saturday), one memo."""
    start = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # a Friday
    now = [start]
    clock = Clock(now=lambda: now[0])
    bodies = V2Bodies()
    callable_now = set()
    for step in range(6 * 48):
        now[0] = start + timedelta(minutes=10 * step)
        for number in ("79170415564", "79000000005", "79261234567"):  # one zone, several zones, ported
            answer = answer_of(engine, number)
            body = bodies.body(answer, engine.dataset, clock)
            assert body == to_json(v2(answer, clock)).encode()
            callable_now.add(body.rsplit(b'"callable_now": ', 1)[1])
    assert callable_now == {b"true}", b"false}"}


@pytest.mark.parametrize(
    ("region", "code"),
    [
        ("Республика Саха (Якутия)", "914"),  # five zones: the main one's time, and the list
        ("Российская Федерация", "800"),  # the whole country: every Russian zone
    ],
)
def test_ranges_in_several_zones(engine: LookupEngine, region: str, code: str) -> None:
    found = answer_of(engine, "79170415564")
    allocation = dataclasses.replace(found.allocation, code=code, region=region, locality=None)
    for answer in (RussianAnswer(found.national, allocation), RussianAnswer(found.national, allocation, MTS)):
        general = to_json(v2(answer, FIXED_CLOCK))
        assert '"timezones": ["' in general
        bodies = V2Bodies()
        for _ in range(2):
            assert bodies.body(answer, engine.dataset, FIXED_CLOCK) == general.encode()


def test_a_new_dataset_starts_a_new_memo(engine: LookupEngine, tmp_path: Path) -> None:
    bodies = V2Bodies()
    first = bodies.body(answer_of(engine, "79170415564"), engine.dataset, FIXED_CLOCK)
    build_small_dataset(tmp_path / "next", version="20990101T000000000000Z")
    engine.use(Dataset(tmp_path / "next"))
    again = answer_of(engine, "79170415564")
    assert (
        bodies.body(again, engine.dataset, FIXED_CLOCK) == first == to_json(v2(again, FIXED_CLOCK)).encode()
    )
    assert len(bodies._fields) == 1  # the old dataset's entries went with it


async def test_the_api_answers_the_general_path_s_bytes(client: Client, engine: LookupEngine) -> None:
    lookups = Lookups(engine, batch_limit=10)
    for number in ("79170415564", "79261234567", "79000000005", "79990000000", "358181201235", "12"):
        response = await client.get(f"/get/v2/?num={number}")
        general = v2_reply(number, await lookups.outcome(number), clock=engine.clock)
        assert (response.status, await response.read()) == (general.status, general.body.encode())
        assert response.headers.get("X-Numlookup-Source") == general.source
