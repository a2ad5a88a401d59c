"""The talk's sample requests and every documented status, through a real aiohttp server.

Values come from the small hand-made dataset of tests/conftest.py (79000000000 is a Т2 number ported to
МТС, as in the talk); keys, their order, types and statuses are num.voxlink.ru's.
"""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Client, MakeClient, raw_request

V1_EXAMPLES = ["+74959898533", "74959898533", "84959898533", "4959898533"]
MOSCOW = {
    "code": "495",
    "num": "9898533",
    "full_num": "4959898533",
    "operator": "Ростелеком",
    "region": "г. Москва",
}


async def get_json(client: Client, url: str, status: int = 200) -> object:
    response = await client.get(url)
    assert response.status == status, await response.text()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(await response.text())


async def test_v1_sample_answer(client: Client) -> None:
    response = await client.get("/get/?num=79000000000")
    text = await response.text()
    assert response.status == 200
    assert text == (
        '{"code": "900", "num": "0000000", "full_num": "9000000000", "operator": "МТС", '
        '"old_operator": "Т2", "region": "Краснодарский край"}'
    )


async def test_v2_sample_answer_keys_in_order(client: Client) -> None:
    body = await get_json(client, "/get/v2/?num=79000000000")
    assert isinstance(body, dict)
    assert list(body) == [
        "cns", "country_code", "destination", "type_id", "description", "location", "registrar",
        "registrar_old", "min_subscr_nr_length", "max_subscr_nr_length", "flag_iso", "flag_icon",
        "timezone", "utc_offset", "callable_now",  # numlookup's own, after voxlink's
    ]  # fmt: skip
    assert (body["timezone"], body["utc_offset"]) == ("Europe/Moscow", "+03:00")
    assert isinstance(body["callable_now"], bool)
    assert body["country_code"] == 7
    assert body["destination"] == "Russia"
    assert (body["type_id"], body["description"]) == ("MOB", "mobile")
    assert body["location"] == "Krasnodarskij kraj"
    assert (body["registrar"], body["registrar_old"]) == ("MTS", "T2")
    assert (body["min_subscr_nr_length"], body["max_subscr_nr_length"]) == (11, 11)
    assert (body["flag_iso"], body["flag_icon"]) == ("RU", "🇷🇺")
    assert isinstance(body["cns"], int)
    assert str(body["cns"]).startswith("790")


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("num=79000000000&field=operator", "МТС"),
        ("num=79000000000&field=operator&translit=1", "MTS"),
        ("num=79000000000&field=region&translit=1", "Krasnodarskij kraj"),
        ("num=79000000000&field=old_operator", "Т2"),
        ("num=74959898533&field=old_operator", ""),  # never ported: an empty body
        ("num=74959898533&field=code", "495"),
    ],
)
async def test_v1_field_is_plain_text(client: Client, query: str, text: str) -> None:
    response = await client.get(f"/get/?{query}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == text


async def test_v1_translit_whole_answer(client: Client) -> None:
    body = await get_json(client, "/get/?num=74959898533&translit=1")
    assert body == {**MOSCOW, "operator": "Rostelekom", "region": "g. Moskva"}


async def test_v2_field(client: Client) -> None:
    response = await client.get("/get/v2/?num=79000000000&field=registrar")
    assert (response.status, await response.text()) == (200, "MTS")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_v1_format_error_is_the_exact_404(client: Client) -> None:
    body = await get_json(client, "/get/?num=a79000000000", 404)
    assert body == {"info": "Неверный формат номера: num=a79000000000", "example": V1_EXAMPLES}


async def test_v1_format_error_with_field_is_still_json(client: Client) -> None:
    body = await get_json(client, "/get/?num=abc&field=operator", 404)
    assert body == {"info": "Неверный формат номера: num=abc", "example": V1_EXAMPLES}


@pytest.mark.parametrize(
    ("number", "info"),
    [
        ("79990000000", "Номер не найден в реестре Российской системы и плана нумерации: num=79990000000"),
        ("358181201235", "Номер не российский, используйте /get/v2/: num=358181201235"),
    ],
)
async def test_v1_unknown_or_foreign_number_is_404(client: Client, number: str, info: str) -> None:
    assert await get_json(client, f"/get/?num={number}", 404) == {"info": info, "example": V1_EXAMPLES}


async def test_v2_foreign_number(client: Client) -> None:
    body = await get_json(client, "/get/v2/?num=358181201235")
    assert isinstance(body, dict)
    assert body["country_code"] == 358
    assert body["destination"] == "Aland Islands"
    assert (body["flag_iso"], body["flag_icon"]) == ("AX", "🇦🇽")
    assert body["type_id"] == "FIX"
    assert str(body["cns"]).startswith("358")


@pytest.mark.parametrize("number", ["0", "", "abc", "+", "1" * 40])
async def test_v2_unknown_is_200_not_found(client: Client, number: str) -> None:
    assert await get_json(client, f"/get/v2/?num={number}") == {"destination": "not found"}


@pytest.mark.parametrize("path", ["/get/v2/", "/get/v2", "/get/", "/get"])
async def test_missing_num_is_404_with_examples(client: Client, path: str) -> None:
    body = await get_json(client, f"{path}?numxcvx=358181201235", 404)
    base = f"http://{client.host}:{client.port}"
    endpoint = "/get/v2/" if "v2" in path else "/get/"
    assert body == {
        "info": "Incorrect request: param num is required",
        "example": [f"{base}{endpoint}?num=74959898533", f"{base}{endpoint}?num=+74959898533"],
    }


@pytest.mark.parametrize(
    "query",
    [
        "num=+74959898533",  # the + arrived unencoded: it reads as a space
        "num=%2B74959898533",
        "num=74959898533",
        "num=84959898533",
        "num=4959898533",
        "num=%2B7%20(495)%20989-85-33",
        "num=8-495-989.85.33",
        "num=+7+495+989+85+33",
        "num=%20%2074959898533%20",
    ],
)
async def test_every_accepted_form_answers_the_same(client: Client, query: str) -> None:
    status, headers, body = await raw_request(client, f"GET /get/?{query} HTTP/1.1")
    assert status == 200, body
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body) == MOSCOW


@pytest.mark.parametrize("query", ["num=+74959898533", "num=0074959898533", "num=81074959898533"])
async def test_v2_accepts_international_forms(client: Client, query: str) -> None:
    status, _, body = await raw_request(client, f"GET /get/v2/?{query} HTTP/1.1")
    assert status == 200
    answer = json.loads(body)
    assert (answer["destination"], answer["registrar"]) == ("Russia", "Rostelekom")


@pytest.mark.parametrize("path", ["/get", "/get/v2"])
async def test_paths_without_trailing_slash(client: Client, path: str) -> None:
    response = await client.get(f"{path}?num=74959898533")
    assert response.status == 200
    assert "Rostelekom" in await response.text() or "Ростелеком" in await response.text()


async def test_unknown_path_is_json_404(client: Client) -> None:
    assert await get_json(client, "/nowhere", 404) == {"info": "404 Not Found"}


async def test_wrong_method_is_json_405_with_allow(client: Client) -> None:
    response = await client.post("/get/?num=74959898533")
    assert response.status == 405
    assert json.loads(await response.text()) == {"info": "405 Method Not Allowed"}
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "query",
    [
        "num=%ff%fe",
        "num=%ED%A0%80",
        "num=%",
        "num=%zz",
        "num=7%00",
        "num=%u0041",
        "num=1&num=2",
        "num=%C3%A9",
    ],
)
async def test_odd_bytes_get_documented_answers(client: Client, query: str) -> None:
    for path in ("/get/", "/get/v2/"):
        status, headers, body = await raw_request(client, f"GET {path}?{query} HTTP/1.1")
        assert status in (200, 404), body
        answer = json.loads(body)
        assert "info" in answer or "destination" in answer or "code" in answer
        assert headers["content-type"].startswith("application/json")


async def test_bytes_that_are_not_http_get_400_and_one_log_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    status, _, body = await raw_request(client, "GET /get/?num=\u00e9 HTTP/1.1")
    assert status == 400
    assert b"Invalid char" in body
    assert caplog.records, "the refused request is logged"
    assert all(record.exc_info is None for record in caplog.records)


async def test_missing_num_examples_follow_a_trusted_proxys_scheme(make_client: MakeClient) -> None:
    headers = {"X-Forwarded-Proto": "https", "Host": "num.example"}
    trusting = await make_client(trusted_proxies=["127.0.0.1"])
    body = json.loads(await (await trusting.get("/get/v2/?x=1", headers=headers)).text())
    assert body["example"][0] == "https://num.example/get/v2/?num=74959898533"
    ignoring = await make_client()
    body = json.loads(await (await ignoring.get("/get/v2/?x=1", headers=headers)).text())
    assert body["example"][0] == "http://num.example/get/v2/?num=74959898533"


async def test_v2_fields_have_the_types_openapi_says(client: Client) -> None:
    schema = (await get_json(client, "/openapi.json"))["components"]["schemas"]["V2"]["properties"]  # type: ignore[index]
    json_types = {str: "string", int: "integer", bool: "boolean", list: "array"}
    seen = set()
    for number in ("79000000000", "358181201235", "76012345678", "79170415564"):
        body = await get_json(client, f"/get/v2/?num={number}")
        assert isinstance(body, dict)
        for name, value in body.items():
            assert json_types[type(value)] == schema[name]["type"], (number, name)
            seen.add(name)
    assert {"timezone", "utc_offset", "timezones", "callable_now"} <= seen
