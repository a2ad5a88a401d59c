"""``POST /get/batch`` and ``/get/v2/batch``: answers in order, each as the single endpoint gives it."""

from __future__ import annotations

import io
import json

import pytest

from tests.api.conftest import Client, MakeClient
from worker.answer.voxlink import v1_body, v2_body
from worker.api.replies import json_body
from worker.api.views import Lookups
from worker.lookup.engine import LookupEngine


async def post(client: Client, path: str, body: bytes | str) -> tuple[int, object]:
    data = io.BytesIO(
        body.encode() if isinstance(body, str) else body
    )  # large bodies stream, as aiohttp wants
    response = await client.post(path, data=data, headers={"Content-Type": "application/json"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.status, json.loads(await response.text())


async def single(client: Client, path: str, number: str) -> object:
    response = await client.get(path, params={"num": number})
    return json.loads(await response.text())


NUMBERS = [
    "79000000000",
    "+74959898533",
    "a79000000000",
    "358181201235",
    "0",
    "79990000000",
    "8 (917) 000-00-01",
]


@pytest.mark.parametrize(("batch", "endpoint"), [("/get/batch", "/get/"), ("/get/v2/batch", "/get/v2/")])
async def test_batch_answers_in_order_as_the_single_endpoint(
    client: Client, batch: str, endpoint: str
) -> None:
    status, answers = await post(client, batch, json.dumps(NUMBERS))
    assert status == 200
    assert answers == [await single(client, endpoint, number) for number in NUMBERS]


@pytest.mark.parametrize("query", ["", "?translit=1"])
@pytest.mark.parametrize("version", [1, 2])
async def test_batch_bytes_are_the_list_json_writes(
    client: Client, engine: LookupEngine, version: int, query: str
) -> None:
    """The batch joins memoised answers (views.V1Bodies, V2Bodies): the bytes are those of json.dumps of
    the list of the general path's bodies; every number twice, so the second comes from the memo."""
    numbers = [*NUMBERS, "79261234567", "79170415564", "+86 138 0013 8000"] * 2
    path = "/get/batch" if version == 1 else "/get/v2/batch"
    response = await client.post(path + query, data=json.dumps(numbers))
    lookups = Lookups(engine, batch_limit=100)
    general = []
    for number in numbers:
        outcome = await lookups.outcome(number)
        if version == 1:
            general.append(v1_body(number, outcome, translit=bool(query))[1])
        else:
            general.append(v2_body(number, outcome, engine.clock)[1])
    assert response.status == 200
    assert await response.read() == json_body(general)


async def test_v1_batch_translit_and_integers(client: Client) -> None:
    status, answers = await post(client, "/get/batch?translit=1", "[74959898533, 79000000000]")
    assert status == 200
    assert isinstance(answers, list)
    assert answers[0]["operator"] == "Rostelekom"
    assert (answers[1]["operator"], answers[1]["old_operator"]) == ("MTS", "T2")


async def test_empty_batch(client: Client) -> None:
    assert await post(client, "/get/v2/batch", "[]") == (200, [])


async def test_batch_limit_is_413_with_reason(make_client: MakeClient) -> None:
    client = await make_client(batch_limit=3)
    assert (await post(client, "/get/batch", '["1","2","3"]'))[0] == 200
    status, body = await post(client, "/get/batch", '["1","2","3","4"]')
    assert status == 413
    assert body == {"info": "Too many numbers: 4, the limit is 3", "limit": 3}


async def test_body_past_the_size_limit_is_json_413(client: Client) -> None:
    status, body = await post(client, "/get/v2/batch", "[" + '"79000000000",' * 200_000 + '"1"]')
    assert status == 413
    assert body == {"info": "413 Request Entity Too Large"}


@pytest.mark.parametrize(
    ("payload", "info"),
    [
        (b"not json", "Invalid JSON"),
        (b"", "Invalid JSON"),
        (b"\xff\xfe[", "Invalid JSON"),
        (b"[" * 100_000, "Invalid JSON"),
        (b"[1" + b"0" * 5000 + b"]", "Invalid JSON"),
        (b'{"num": "79000000000"}', "Send a JSON list"),
        (b'"79000000000"', "Send a JSON list"),
        (b'["79000000000", null]', "Element 1 is not a number or a string"),
        (b"[true]", "Element 0 is not a number or a string"),
        (b"[1.5]", "Element 0 is not a number or a string"),
        (b'[["79000000000"]]', "Element 0 is not a number or a string"),
    ],
)
async def test_bad_bodies_are_400(client: Client, payload: bytes, info: str) -> None:
    for path in ("/get/batch", "/get/v2/batch"):
        status, body = await post(client, path, payload)
        assert status == 400
        assert isinstance(body, dict)
        assert str(body["info"]).startswith(info)


async def test_lone_surrogate_is_echoed_safely(client: Client) -> None:
    status, answers = await post(client, "/get/batch", '["\\ud800"]')
    assert status == 200
    assert answers == [{"info": "Неверный формат номера: num=?", "example": [
        "+74959898533", "74959898533", "84959898533", "4959898533"]}]  # fmt: skip
