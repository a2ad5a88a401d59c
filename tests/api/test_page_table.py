"""Many numbers on the lookup page in headless Chromium: 100 pasted numbers → table, counts, sorting, the CSV
download; the limit; and that the page asks no host but the API's own."""

from __future__ import annotations

import csv
import io
from typing import Final
from urllib.parse import urlsplit

from tests.api.browser import Browser
from tests.api.conftest import Serve
from tests.api.pages import (
    BAD,
    HUNDRED,
    MTS_917,
    NEEDS_CHROMIUM,
    UNALLOCATED,
    base,
    message,
    opened,
)

pytestmark = NEEDS_CHROMIUM


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
