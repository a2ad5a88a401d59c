"""What the page's browser tests share: the fields other issues add, layered onto the real answers, and the
steps a user takes (open the page, type a number, read the card).

The page runs against the real app on the small dataset. Fields other issues add to the answers (locality,
timezone, utc_offset, callable_now, the ``X-Numlookup-Source`` header, the dataset's source and publication in
``/health``) are layered onto the real answers by a middleware of these tests (``extras``), or taken off them
(``bare``), so the page is shown both with and without them whatever the engine answers today.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import hdrs, web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from tests.api.browser import CHROMIUM, Browser, Tab

NEEDS_CHROMIUM: Final = [
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
# (zone, offset, every zone the number may be in) by the Latin word v2's location has; else an offset alone
ZONES: Final = {
    "Bashkortostan": ("Asia/Yekaterinburg", "+05:00", None),
    "Krasnodar": ("Europe/Moscow", "+03:00", ["Europe/Moscow", "Europe/Samara"]),
}
HEALTH_EXTRAS: Final = {"source": "bundled", "published": "2026-03-01", "age_days": 277, "stale": True}
V2_EXTRAS: Final = ("timezone", "utc_offset", "timezones", "callable_now")


def layer_v1(body: dict[str, Any], extras: bool) -> None:
    if "full_num" in body:
        body.pop("locality", None)
        if extras and body["region"] in LOCALITY:
            body["locality"] = LOCALITY[body["region"]]


def layer_v2(body: dict[str, Any], extras: bool) -> None:
    for name in V2_EXTRAS:
        body.pop(name, None)
    if extras and body.get("country_code") == 7 and body.get("destination") == "Russia":
        where = str(body.get("location"))
        zone, offset, zones = next((z for word, z in ZONES.items() if word in where), (None, "+03:00", None))
        if zone is not None:
            body["timezone"] = zone
        body["utc_offset"] = offset
        if zones is not None:
            body["timezones"] = zones
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
        # a web.Response, or the lookups' WireResponse: both have their body and headers
        content = getattr(response, "body", None)
        content_type = response.headers.get(hdrs.CONTENT_TYPE, "")
        if not isinstance(content, bytes) or not content_type.startswith("application/json"):
            return response
        body = json.loads(content)
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


def base(client: TestClient[Any, Any]) -> str:
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
