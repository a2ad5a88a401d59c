"""Hypothesis over query strings and batch bodies: never a 5xx, every answer in a documented shape."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Client, raw_request
from worker.answer.voxlink import V1_FIELDS, V1_KNOWN_FIELDS, V2_FIELDS, V2_KNOWN_FIELDS

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# What people paste into a number field, plus what attackers add.
PHONE_ALPHABET = (
    "0123456789+-() .#*,;ext" + "\t\r\n\x00%&=?/\\\"'<>" + "٣８²ⅷ" + "\u00a0\u200b\ud7ff\U0001f1f7"
)
numbers = st.one_of(
    st.text(alphabet=PHONE_ALPHABET, max_size=40),
    st.text(max_size=30),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.from_regex(r"\+?[78]?9\d{9}", fullmatch=True),
)
params = st.lists(
    st.tuples(
        st.sampled_from(["num", "field", "translit", "x", "NUM", ""]), numbers | st.sampled_from(V1_FIELDS)
    ),
    max_size=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | numbers,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=20,
)


def check_error(body: object) -> None:
    assert isinstance(body, dict)
    assert isinstance(body["info"], str)


def check_lookup(path: str, status: int, content_type: str, raw: bytes, field: str | None = None) -> None:
    known = V2_KNOWN_FIELDS if path.startswith("/get/v2") else V1_KNOWN_FIELDS
    if field is not None and field not in known:  # an unknown field= is an error, never an empty 200
        assert status == 400, (path, status, raw)
        assert json.loads(raw)["fields"] == list(known)
        return
    assert status in (200, 404), (path, status, raw)
    if content_type.startswith("text/plain"):
        assert status == 200
        raw.decode("utf-8")
        return
    assert content_type == "application/json; charset=utf-8"
    body = json.loads(raw)
    if status == 404:
        check_error(body)
    elif path.startswith("/get/v2"):
        assert set(body) <= set(V2_FIELDS) | {"destination"}
    else:
        assert set(body) <= set(V1_FIELDS)


@FUZZ
@given(query=params, plus_unencoded=st.booleans())
async def test_query_strings(client: Client, query: list[tuple[str, str]], plus_unencoded: bool) -> None:
    safe = "+" if plus_unencoded else ""
    text = "&".join(f"{quote(name, safe=safe)}={quote(value, safe=safe)}" for name, value in query)
    fields = [
        value.replace("+", " ") if plus_unencoded else value for name, value in query if name == "field"
    ]
    has_num = any(name == "num" for name, _ in query)
    for path in ("/get/", "/get/v2/", "/get", "/get/v2"):
        status, headers, body = await raw_request(client, f"GET {path}?{text} HTTP/1.1")
        field = fields[0] if fields and has_num else None
        check_lookup(path, status, headers["content-type"], body, field)


@FUZZ
@given(body=json_values | st.binary(max_size=64).map(lambda raw: raw.decode("latin-1")))
async def test_batch_bodies(client: Client, body: object) -> None:
    payload = body if isinstance(body, str) else json.dumps(body)
    for path in ("/get/batch", "/get/v2/batch"):
        response = await client.post(path, data=payload.encode("utf-8", "surrogatepass"))
        assert response.status in (200, 400), (payload, response.status)
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        answer = json.loads(await response.text())
        if response.status == 400:
            check_error(answer)
            continue
        assert isinstance(answer, list)
        assert len(answer) == len(json.loads(payload))
        for element in answer:
            assert isinstance(element, dict)
            assert "info" in element or "destination" in element or "code" in element
