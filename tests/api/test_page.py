"""The lookup page in a real headless Chromium (``tests/api/browser.py``): the card, many numbers, the footer.

The page runs against the real app on the small dataset. Fields other issues add to the answers (locality,
timezone, utc_offset, callable_now, the ``X-Numlookup-Source`` header, the dataset's source and publication in
``/health``) are layered onto the real answers by a middleware of these tests (``extras``), or taken off them
(``bare``), so the page is shown both with and without them whatever the engine answers today.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import fakeredis
import pytest
from aiohttp import hdrs, web
from multidict import CIMultiDict

from tests.api.browser import CHROMIUM, Browser, Tab, chromium
from tests.api.conftest import Client, make_settings
from tests.conftest import build_small_dataset
from worker.api import page
from worker.api.app import create_app
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.settings import HttpSettings

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (CI installs it)"
    ),
    pytest.mark.timeout(180),  # a browser on a shared 2-core machine
]

ARTIFACTS: Final = Path(
    os.environ.get("NUMLOOKUP_ARTIFACTS", Path(__file__).resolve().parents[2] / "tmp" / "artifacts")
)
SOURCE: Final = "X-Numlookup-Source"
# What the extras layer adds, by the v1 region of the answer.
LOCALITY: Final = {"Республика Башкортостан": "г. Уфа", "Краснодарский край": "г. Краснодар"}
# v2 names the region in Latin: Bashkortostan gets a zone and its offset, every other subject an offset alone
ZONE: Final = {True: ("Asia/Yekaterinburg", "+05:00"), False: (None, "+03:00")}
HEALTH_EXTRAS: Final = {"source": "bundled", "published": "2026-03-01", "age_days": 277, "stale": True}
V2_EXTRAS: Final = ("timezone", "utc_offset", "callable_now")


def layer_v1(body: dict[str, Any], extras: bool) -> None:
    if "full_num" in body:
        body.pop("locality", None)
        if extras and body["region"] in LOCALITY:
            body["locality"] = LOCALITY[body["region"]]


def layer_v2(body: dict[str, Any], extras: bool) -> None:
    for name in V2_EXTRAS:
        body.pop(name, None)
    if extras and body.get("country_code") == 7 and body.get("destination") == "Russia":
        zone, offset = ZONE["Bashkortostan" in str(body.get("location"))]
        if zone is not None:
            body["timezone"] = zone
        body["utc_offset"] = offset
        body["callable_now"] = False


def layer_health(body: dict[str, Any], extras: bool) -> None:
    dataset = body["dataset"]
    for name in HEALTH_EXTRAS:
        dataset.pop(name, None)
    if extras:
        dataset.update(HEALTH_EXTRAS)
        body["status"] = "warning"
        body["redis"] = {"configured": True, "reachable": False}
        body["ami"] = {"ok": False, "ami": [{"server": "pbx1", "state": "connecting"}]}


def layered(extras: bool) -> Any:
    """A middleware adding the other issues' fields to the real answers (``extras``) or taking them off."""

    @web.middleware
    async def layer(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        response = await handler(request)
        if not isinstance(response, web.Response) or response.content_type != "application/json":
            return response
        assert isinstance(response.body, bytes)
        body = json.loads(response.body)
        path = request.path.rstrip("/")
        if path == "/health":
            layer_health(body, extras)
        elif path in ("/get", "/get/v2") and response.status == 200:
            (layer_v1 if path == "/get" else layer_v2)(body, extras)
        elif path in ("/get/batch", "/get/v2/batch") and response.status == 200:
            for item in body:
                (layer_v1 if path == "/get/batch" else layer_v2)(item, extras)
        headers = CIMultiDict(response.headers)
        headers.pop(hdrs.CONTENT_LENGTH, None)
        headers.pop(SOURCE, None)
        if extras and path in ("/get", "/get/v2"):
            headers[SOURCE] = "mnp"
        text = json.dumps(body, ensure_ascii=False)
        return web.Response(body=text.encode(), status=response.status, headers=headers)

    return layer


Serve = Callable[..., Awaitable[Client]]


@pytest.fixture
async def serve(aiohttp_client: Any, engine: LookupEngine, data_dir: Path) -> Serve:
    """The real app on a real port; ``layer="extras"|"bare"`` adds or removes the other issues' fields."""

    async def build(
        layer: str | None = None, *, engine_: LookupEngine | None = None, redis: Any = None, **http: Any
    ) -> Client:
        app = create_app(make_settings(data_dir, **http), engine_ or engine, redis=redis)
        if layer is not None:
            app.middlewares.append(layered(layer == "extras"))
        client: Client = await aiohttp_client(app)
        return client

    return build


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(tmp_path / "profile") as running:
        yield running
        # no script error, refused resource or CSP violation in any page of the test
        assert [error for tab in running.tabs for error in tab.errors] == []


def base(client: Client) -> str:
    return f"http://127.0.0.1:{client.port}/"


async def opened(browser: Browser, url: str) -> Tab:
    """A tab on the page, once its footer has shown /health (and the ``?num=`` lookup is done, if any)."""
    tab = await browser.tab()
    await tab.goto(url)
    await tab.until("document.body.dataset.health === 'done'")
    if "?num=" in url:
        await tab.until("document.body.dataset.lookup === 'done'")
    return tab


async def look_up(tab: Tab, number: str) -> None:
    """Type a number into the box as a user would (select what is there, paste over it, press Enter)."""
    await tab.js("document.getElementById('num').select()")
    await tab.focus("#num")
    await tab.js("document.body.dataset.lookup = 'typing'")
    await tab.paste(number)
    await tab.press("Enter", 13)
    await tab.until("document.body.dataset.lookup === 'done'")


CARD_JS: Final = """(() => {
    const card = document.getElementById("card");
    if (card.hidden) return null;
    const fields = {};
    for (const field of card.querySelectorAll("[data-field]")) {
        fields[field.dataset.field] = field.hidden ? null : field.querySelector(".value").textContent.trim();
    }
    fields.number = document.getElementById("card-number").textContent;
    const flag = card.querySelector(".flag");
    fields.flag = flag.hidden ? null : flag.textContent;
    fields.ported_mark = !card.querySelector(".ported-mark").hidden;
    return fields;
})()"""


async def card(tab: Tab) -> dict[str, Any]:
    fields = await tab.js(CARD_JS)
    assert fields is not None, await tab.js("document.getElementById('one-message').textContent")
    assert isinstance(fields, dict)
    return fields


async def message(tab: Tab, element_id: str) -> str:
    value = await tab.js(f"(() => {{ const m = document.getElementById('{element_id}'); "
                         "return m.hidden ? '' : m.textContent; })()")  # fmt: skip
    assert isinstance(value, str)
    return value


async def test_card_for_79170415564(serve: Serve, browser: Browser) -> None:
    client = await serve()
    tab = await opened(browser, base(client))
    await look_up(tab, "79170415564")
    shown = await card(tab)
    assert shown["number"] == "+7 917 041-55-64"
    assert shown["operator"] == "МТС"
    assert shown["ported"] is None
    assert shown["ported_mark"] is False
    assert shown["region"] == "Республика Башкортостан"
    assert (shown["country"], shown["flag"]) == ("Russia", "RU")
    assert shown["type"] == "Mobile"
    # What other issues add shows exactly when the API's own answer has it.
    v1_response = await client.get("/get/?num=79170415564")
    v2_response = await client.get("/get/v2/?num=79170415564")
    v1, v2 = await v1_response.json(), await v2_response.json()
    assert shown["locality"] == v1.get("locality")
    assert (shown["time"] is None) == ("timezone" not in v2 and "utc_offset" not in v2)
    assert (shown["callable"] is None) == ("callable_now" not in v2)
    assert (shown["source"] is None) == (v2_response.headers.get(SOURCE) is None)
    # the raw answers, folded below the card
    assert await tab.js("document.getElementById('raw').open") is False
    assert json.loads(await tab.js("document.getElementById('v1').textContent")) == v1
    assert json.loads(await tab.js("document.getElementById('v2').textContent")) == v2
    assert await tab.js("document.getElementById('v1-status').textContent") == "200 OK"
    assert await tab.js("location.search") == "?num=79170415564"
    assert await message(tab, "one-message") == ""
    assert tab.errors == []


async def test_card_of_a_ported_number_from_the_address(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve()) + "?num=79000000000")
    shown = await card(tab)
    assert (shown["operator"], shown["ported"], shown["ported_mark"]) == ("МТС", "Т2", True)
    assert shown["region"] == "Краснодарский край"
    assert await tab.js("document.getElementById('num').value") == "79000000000"


async def test_card_for_foreign_numbers(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve()))
    await look_up(tab, "+358181201235")
    shown = await card(tab)
    assert shown["number"] == "+358 181201235"
    assert (shown["country"], shown["flag"]) == ("Aland Islands", "AX")
    assert shown["type"] == "Geographic"
    # libphonenumber knows no carrier or place for it: those rows are hidden, not shown empty
    assert (shown["operator"], shown["region"], shown["ported"]) == (None, None, None)

    await look_up(tab, "+86 138 0013 8000")
    shown = await card(tab)
    assert shown["number"] == "+86 13800138000"
    assert (shown["operator"], shown["region"]) == ("China Mobile", "Beijing")
    assert (shown["country"], shown["flag"], shown["type"]) == ("China", "CN", "Mobile")

    await look_up(tab, "+7 701 234-56-78")  # +7, but Kazakhstan's
    shown = await card(tab)
    assert shown["number"] == "+7 701 234-56-78"
    assert (shown["operator"], shown["country"], shown["flag"]) == ("Kcell/Activ", "Kazakhstan", "KZ")

    await look_up(tab, "78432310000")  # Russian, in no range of this registry: libphonenumber's answer
    shown = await card(tab)
    assert shown["number"] == "+7 843 231-00-00"
    assert (shown["country"], shown["flag"], shown["type"]) == ("Russia", "RU", "Geographic")
    assert shown["operator"] is None
    assert tab.errors == []


async def test_card_with_the_fields_other_issues_add(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve("extras")) + "?num=79170415564")
    shown = await card(tab)
    assert shown["locality"] == "г. Уфа"
    assert shown["callable"] == "No, outside the calling window"
    assert shown["source"] == "the MNP database (ported numbers)"
    match = re.fullmatch(r"(\w{3}) (\d\d:\d\d) \(UTC\+05:00, Asia/Yekaterinburg\)", shown["time"])
    assert match, shown["time"]
    now = datetime.now(UTC) + timedelta(hours=5)
    nearby = {(now + timedelta(minutes=delta)).strftime("%a %H:%M") for delta in (-1, 0, 1)}
    assert f"{match[1]} {match[2]}" in nearby
    # an answer with an offset and no zone name: the time comes from the offset
    await look_up(tab, "74959890000")
    shown = await card(tab)
    match = re.fullmatch(r"(\w{3} \d\d:\d\d) \(UTC\+03:00\)", shown["time"])
    assert match, shown["time"]
    now = datetime.now(UTC) + timedelta(hours=3)
    assert match[1] in {(now + timedelta(minutes=delta)).strftime("%a %H:%M") for delta in (-1, 0, 1)}
    assert shown["locality"] is None  # no locality in this answer: the row is hidden again


async def test_card_without_the_fields_other_issues_add(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve("bare")) + "?num=79170415564")
    shown = await card(tab)
    assert shown["operator"] == "МТС"
    assert (shown["locality"], shown["time"], shown["callable"], shown["source"]) == (None, None, None, None)


async def test_errors_are_sentences(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve()))
    await look_up(tab, "a79000000000")
    assert await message(tab, "one-message") == (
        "“a79000000000” is not a phone number. Type it with its country code, for example +7 495 989-85-33."
    )
    assert await tab.js("document.getElementById('card').hidden") is True
    await look_up(tab, "73000000000")
    assert await message(tab, "one-message") == (
        "73000000000 is not in the Russian numbering plan: no operator holds that range."
    )
    await look_up(tab, "0")
    assert await message(tab, "one-message") == "0 is not a number any country's numbering plan knows."
    await look_up(tab, "79170415564")  # a good answer clears the sentence
    assert await message(tab, "one-message") == ""
    assert (await card(tab))["operator"] == "МТС"


async def test_a_service_gone_away_is_a_sentence(serve: Serve, browser: Browser) -> None:
    client = await serve()
    tab = await opened(browser, base(client))
    await client.server.close()  # the page is loaded; now nothing answers on its port
    await look_up(tab, "79170415564")
    assert await message(tab, "one-message") == (
        "The service did not answer. Check the connection and try again."
    )
    assert await tab.js("document.getElementById('v1-status').textContent") == "no answer"


async def test_slash_goes_back_to_the_number_box(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve()))
    await tab.js("document.activeElement.blur()")
    assert await tab.js("document.activeElement.id") == ""
    await tab.press("/", 191)
    assert await tab.js("document.activeElement.id") == "num"
    assert await tab.js("document.getElementById('num').value") == ""  # the "/" itself is not typed
    await tab.focus("#numbers")
    await tab.press("/", 191)  # in the list box a "/" is just a character
    assert await tab.js("document.activeElement.id") == "numbers"


async def test_rate_limited_is_a_sentence(serve: Serve, browser: Browser) -> None:
    # One request per 1000 s: of the page's two requests (v1 and v2), the second is refused.
    exempt = {"rate_limit_exempt": []} if "rate_limit_exempt" in HttpSettings.model_fields else {}
    tab = await opened(browser, base(await serve(rate_limit=0.001, **exempt)) + "?num=79170415564")
    said = await message(tab, "one-message")
    assert re.fullmatch(r"Too many lookups from your address just now\. Try again in \d+ seconds?\.", said), (
        said
    )
    assert await tab.js("document.getElementById('card').hidden") is True


# A spreadsheet column of 100 numbers in the forms people write them, one bad and one unallocated among them.
MTS_917: Final = [f"7917{i:07d}" for i in range(60)]  # 79170000001 was ported to МегаФон
MEGAFON_926: Final = [f"8 926 1{i:02d}-45-67" for i in range(20, 40)]  # 8 926 123-45-67 was ported to МТС
T2_900: Final = [f"+7 900 000-00-{i:02d}" for i in range(10)]  # +7 900 000-00-00 was ported to МТС
ROSTELECOM_495: Final = [f"495989{i:04d}" for i in range(5)]
FOREIGN: Final = ["+358181201235", "+8613800138000", "+442079460000"]
BAD: Final = "12ab34"
UNALLOCATED: Final = "73000000000"
HUNDRED: Final = [
    *MTS_917[:30],
    BAD,
    *MEGAFON_926,
    *FOREIGN,
    *T2_900,
    UNALLOCATED,
    *MTS_917[30:],
    *ROSTELECOM_495,
]

TABLE_JS: Final = """[...document.querySelectorAll("#table tbody tr")].map((tr) => ({
    index: Number(tr.dataset.index),
    className: tr.className,
    cells: [...tr.cells].map((td) => td.textContent.trim()),
}))"""
COUNTS_JS: Final = (
    "[...document.querySelectorAll('#%s tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent))"
)
SORTED_BY_JS: Final = """(() => {
    const th = document.querySelector("th[aria-sort]");
    return th.textContent.trim() + " " + th.getAttribute("aria-sort");
})()"""
HEADERS_JS: Final = "[...document.querySelectorAll('#table thead th')].map((th) => th.textContent.trim())"


def counts_of(tab_rows: list[list[str]]) -> dict[str, int]:
    return {name: int(count) for name, count in tab_rows}


async def test_many_numbers_table_counts_sorting_and_csv(serve: Serve, browser: Browser) -> None:
    client = await serve()
    tab = await opened(browser, base(client) + "?num=79170415564")
    assert len(HUNDRED) == 100
    await tab.focus("#numbers")
    await tab.paste("\n".join(HUNDRED) + "\n")
    await tab.press("Enter", 13, ctrl=True)  # Ctrl+Enter sends the list
    await tab.until("document.body.dataset.batch === 'done'")
    assert await message(tab, "many-message") == ""
    assert await tab.js("document.getElementById('summary').textContent") == (
        "100 numbers: 98 found (3 ported), 2 could not be looked up."
    )
    headers = await tab.js(HEADERS_JS)
    column = {name: at for at, name in enumerate(headers)}
    rows = await tab.js(TABLE_JS)
    errors = [HUNDRED.index(BAD) + 1, HUNDRED.index(UNALLOCATED) + 1]
    assert [row["index"] for row in rows] == [i for i in range(1, 101) if i not in errors] + errors
    by_index = {row["index"]: row for row in rows}
    assert len(by_index) == 100
    bad = by_index[HUNDRED.index(BAD) + 1]
    assert bad["className"] == "error"
    assert bad["cells"] == [str(HUNDRED.index(BAD) + 1), BAD, "Not a phone number"]
    assert by_index[HUNDRED.index(UNALLOCATED) + 1]["cells"][2] == "Not in the Russian numbering plan"
    ported = {row["cells"][column["Number"]]: row["cells"][column["Ported from"]] for row in rows
              if row["className"] == "ported"}  # fmt: skip
    assert ported == {
        "+7 917 000-00-01": "ported МТС",
        "+7 926 123-45-67": "ported МегаФон",
        "+7 900 000-00-00": "ported Т2",
    }
    row_926 = by_index[HUNDRED.index("8 926 123-45-67") + 1]["cells"]
    assert row_926[column["Operator"]] == "МТС"
    assert row_926[column["Region"]] == "г. Москва"
    china = by_index[HUNDRED.index("+8613800138000") + 1]["cells"]
    assert (china[column["Operator"]], china[column["Country"]], china[column["Region"]]) == (
        "China Mobile", "China", "Beijing",
    )  # fmt: skip

    per_operator = await tab.js(COUNTS_JS % "per-operator")
    assert counts_of(per_operator) == {
        "МТС": 61, "МегаФон": 20, "Т2": 9, "Ростелеком": 5, "unknown": 2, "China Mobile": 1,
    }  # fmt: skip
    assert [name for name, _ in per_operator][:2] == ["МТС", "МегаФон"]  # largest first
    per_region = await tab.js(COUNTS_JS % "per-region")
    assert counts_of(per_region) == {
        "Республика Башкортостан": 60, "г. Москва": 25, "Краснодарский край": 10,
        "Aland Islands": 1, "China": 1, "United Kingdom": 1,
    }  # fmt: skip

    # Sorting by operator: a click; every operator's rows together, rows without an answer last either way.
    await tab.click('button[data-sort="operator"]')
    ascending = await tab.js(TABLE_JS)
    operators = [row["cells"][column["Operator"]] for row in ascending if row["className"] != "error"]
    runs = [name for at, name in enumerate(operators) if at == 0 or operators[at - 1] != name]
    assert len(runs) == len(set(runs)) == 6
    assert runs[0] == "МегаФон"  # Russian alphabetical order
    assert runs[-1] == ""  # no operator known: last
    assert [row["className"] for row in ascending[-2:]] == ["error", "error"]
    assert await tab.js(SORTED_BY_JS) == "Operator ascending"
    await tab.click('button[data-sort="operator"]')
    descending = await tab.js(TABLE_JS)
    operators = [row["cells"][column["Operator"]] for row in descending if row["className"] != "error"]
    assert [name for at, name in enumerate(operators) if at == 0 or operators[at - 1] != name] == [
        *reversed(runs[:-1]),
        "",
    ]
    assert await tab.js(SORTED_BY_JS) == "Operator descending"

    # Sorting by region from the keyboard: focus its header button and press Enter.
    await tab.focus('button[data-sort="region"]')
    await tab.press("Enter", 13)
    await tab.until("document.querySelector('th[aria-sort]').textContent.trim() === 'Region'")
    by_region = await tab.js(TABLE_JS)
    regions = [row["cells"][column["Region"]] for row in by_region if row["className"] != "error"]
    assert regions[:25] == ["г. Москва"] * 25
    assert regions[25:35] == ["Краснодарский край"] * 10

    # The CSV download: the table in its current order, every column, the error rows with their reason.
    path = await browser.download(lambda: tab.click("#csv"))
    assert path.name == "numlookup.csv"
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())  # so spreadsheets read the names as UTF-8
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header, body = lines[0], lines[1:]
    assert header[:5] == ["#", "Number", "Input", "Operator", "Ported from"]
    assert {"Region", "Country", "ISO", "Line type", "Error"} <= set(header)
    assert len(body) == 100
    records = [dict(zip(header, line, strict=True)) for line in body]
    assert [int(record["#"]) for record in records] == [row["index"] for row in by_region]
    for record, row in zip(records, by_region, strict=True):
        cells = row["cells"]
        if row["className"] == "error":
            assert (record["Number"], record["Operator"], record["Error"]) == ("", "", cells[2])
        else:
            assert record["Operator"] == cells[column["Operator"]]
            assert record["Region"] == cells[column["Region"]]
            assert record["Error"] == ""
    record_926 = next(r for r in records if r["Input"] == "8 926 123-45-67")
    assert (record_926["Number"], record_926["Operator"], record_926["Ported from"]) == (
        "79261234567", "МТС", "МегаФон",
    )  # fmt: skip
    assert (record_926["Country"], record_926["ISO"], record_926["Line type"]) == ("Russia", "RU", "mobile")
    bad_record = next(r for r in records if r["Error"] == "Not a phone number")
    assert (bad_record["Input"], bad_record["#"]) == (BAD, str(HUNDRED.index(BAD) + 1))
    # a cell a spreadsheet would run as a formula is defused
    assert next(r for r in records if r["Number"] == "79000000000")["Input"] == "'+7 900 000-00-00"

    # Everything the page asked for came from the API's own host.
    own = urlsplit(base(client)).netloc
    assert tab.requested
    for url in tab.requested:
        parts = urlsplit(url)
        if parts.scheme == "blob":
            parts = urlsplit(parts.path)
        assert parts.scheme == "data" or (parts.scheme, parts.netloc) == ("http", own), url
    assert any(url.endswith("/get/v2/batch") for url in tab.requested)
    assert tab.errors == []


async def test_a_list_over_the_batch_limit_is_refused_before_sending(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve(batch_limit=5)))
    assert await tab.js("document.getElementById('batch-limit').textContent") == "5"
    await tab.focus("#numbers")
    await tab.paste("\n".join(MTS_917[:6]))
    await tab.click('#batch button[type="submit"]')
    assert await message(tab, "many-message") == (
        "That is 6 numbers; the service takes up to 5 at a time. Split the list."
    )
    assert not any("batch" in url for url in tab.requested)


class Connected:
    def health(self) -> dict[str, object]:
        return {"ok": True, "ami": [{"server": "pbx1", "state": "connected"}]}


async def test_footer_shows_the_data_age_and_redis_and_ami(
    aiohttp_client: Any, tmp_path: Path, browser: Browser
) -> None:
    store = LocalStore(tmp_path / "old")
    scratch = store.scratch()
    version = build_small_dataset(scratch, created=datetime.now(UTC) - timedelta(days=3, hours=2))
    store.publish(scratch, version)
    redis = fakeredis.FakeAsyncRedis()
    app = create_app(
        make_settings(store.root), LookupEngine(store.open()), redis=redis, ami_state=Connected()
    )
    client: Client = await aiohttp_client(app)
    tab = await opened(browser, base(client))
    data = await tab.js("document.getElementById('health-data').textContent")
    assert (
        f"Version {version}, built 3 days ago." in data
        or data == f"Data version {version}, built 3 days ago."
    )
    assert await tab.js("document.getElementById('health-redis').textContent") == "Redis: connected."
    assert await tab.js("document.getElementById('health-ami').textContent") == "AMI: connected."
    assert await tab.js("document.getElementById('health').className") == ""
    await redis.aclose()


async def test_footer_with_source_publication_and_trouble(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve("extras")))
    data = await tab.js("document.getElementById('health-data').textContent")
    assert data.startswith(
        "Data: the registry bundled with numlookup published 2026-03-01, 277 days old. Version "
    )
    assert data.endswith(" It is stale: update the data (numlookup data update).")
    assert await tab.js("document.getElementById('health-redis').textContent") == "Redis: unreachable."
    assert (
        await tab.js("document.getElementById('health-ami').textContent")
        == "AMI: not connected (pbx1 connecting)."
    )
    assert await tab.js("document.getElementById('health').className") == "warn"


async def test_footer_without_source_and_publication(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve("bare")))
    data = await tab.js("document.getElementById('health-data').textContent")
    assert re.fullmatch(r"Data version \S+, built less than a minute ago\.", data), data
    assert await tab.js("document.getElementById('health-redis').textContent") == "Redis: not used."
    assert (
        await tab.js("document.getElementById('health-ami').textContent") == "AMI: not run by this process."
    )


# The share of a box's pixels unlike its most common colour (its background): text has ink, a blank box none.
INK_JS: Final = """(async (png, boxes) => {
    const image = new Image();
    image.src = "data:image/png;base64," + png;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    return boxes.map(([x, y, w, h]) => {
        if (w < 1 || h < 1 || x < 0 || y < 0 || x + w > image.width || y + h > image.height) return -1;
        const pixels = context.getImageData(x, y, w, h).data;
        const seen = new Map();
        for (let i = 0; i < pixels.length; i += 4) {
            const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
            seen.set(key, (seen.get(key) || 0) + 1);
        }
        const background = [...seen].sort((a, b) => b[1] - a[1])[0][0];
        const [r, g, b] = [background >> 16, (background >> 8) & 255, background & 255];
        let ink = 0;
        for (let i = 0; i < pixels.length; i += 4) {
            const distance =
                Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b);
            if (distance > 96) ink++;
        }
        return ink / (w * h);
    });
})"""
# Each card field's text, as a box in page coordinates (the screenshot covers the whole page at scale 1).
BOXES_JS: Final = """(() => {
    const box = (node) => {
        const range = document.createRange();  // the text's own box, not its (block-wide) element's
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        return [Math.floor(r.left + scrollX), Math.floor(r.top + scrollY),
                Math.ceil(r.width), Math.ceil(r.height)];
    };
    const boxes = {
        number: box(document.getElementById("card-number")),
        flag: box(document.querySelector("#card .flag")),
    };
    for (const field of document.querySelectorAll("#card [data-field]")) {
        boxes[field.dataset.field] = box(field.querySelector(".value"));
    }
    return boxes;
})()"""
CARD_FIELDS: Final = (
    "number", "operator", "ported", "region", "locality", "country", "flag", "type", "time", "callable",
    "source",
)  # fmt: skip


@pytest.mark.parametrize(
    ("width", "height", "mobile"), [(1280, 900, False), (390, 844, True)], ids=["desktop", "phone"]
)
async def test_screenshots_show_every_field_of_the_card(
    serve: Serve, browser: Browser, width: int, height: int, mobile: bool
) -> None:
    tab = await opened(browser, base(await serve("extras")))
    await tab.resize(width, height, mobile=mobile)
    await look_up(tab, "79000000000")  # ported: every field of the card has something to show
    await tab.focus("#numbers")
    await tab.paste("\n".join([*MTS_917[:3], "+7 900 000-00-00", BAD, *FOREIGN[:1]]))
    await tab.press("Enter", 13, ctrl=True)
    await tab.until("document.body.dataset.batch === 'done'")
    await tab.js("document.getElementById('num').blur()")
    # readable on a phone: nothing runs off the side of the screen (the wide table scrolls in its own box)
    assert await tab.js("document.documentElement.scrollWidth") <= width
    name = "desktop" if not mobile else "phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = await tab.screenshot(ARTIFACTS / f"page-{name}.png")
    boxes = await tab.js(BOXES_JS)
    assert set(CARD_FIELDS) <= set(boxes)
    reader = await browser.tab()
    blank_corner = [0, 0, 8, 8]
    arguments = json.dumps([base64.b64encode(png).decode(), [*(boxes[f] for f in CARD_FIELDS), blank_corner]])
    ink = await reader.js(f"({INK_JS})(...{arguments})")
    assert ink[-1] == 0, "the blank corner must read as blank, or the check below proves nothing"
    missing = [field for field, share in zip(CARD_FIELDS, ink[:-1], strict=True) if share < 0.02]
    assert not missing, f"no text where the card shows {missing} in {ARTIFACTS / f'page-{name}.png'}: {ink}"
    assert tab.errors == []


async def test_page_files_load_nothing_from_elsewhere(serve: Serve) -> None:
    client = await serve(batch_limit=250)
    index = await client.get("/")
    assert index.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    assert "connect-src 'self'" in index.headers["Content-Security-Policy"]
    html = await index.text()
    assert 'data-batch-limit="250"' in html
    static = Path(page.__file__).parents[1] / "static"
    assert {name for _, name, _ in page.FILES} == {file.name for file in static.iterdir()}  # each one served
    for path, _, _ in page.FILES:
        text = await (await client.get(path)).text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path  # no absolute URL
        assert "@import" not in text
        assert "url(http" not in text
