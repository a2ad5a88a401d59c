"""The lookup page's answer card in headless Chromium: Russian, ported and foreign numbers, the fields other
issues add (shown when present, hidden when absent), errors as sentences, the keyboard."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from tests.api.browser import Browser
from tests.api.conftest import Serve
from tests.api.pages import NEEDS_CHROMIUM, SOURCE, base, card, look_up, message, opened
from worker.settings import HttpSettings

pytestmark = NEEDS_CHROMIUM


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
    assert (shown["zones"] is None) == (len(v2.get("timezones", [])) < 2)
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
    assert shown["zones"] is None  # one zone only
    # a number that may be in several zones: its main zone's time, and the zones it may be in
    await look_up(tab, "79000000005")
    shown = await card(tab)
    assert shown["time"].endswith(" (UTC+03:00, Europe/Moscow)")
    assert shown["zones"] == "Europe/Moscow, Europe/Samara"
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
    assert shown["zones"] is None


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
    assert await message(tab, "one-message") == (
        "“0” is not a phone number. Type it with its country code, for example +7 495 989-85-33."
    )
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
    exempt: dict[str, list[str]] = {}
    if "rate_limit_exempt" in HttpSettings.model_fields:  # loopback may be exempt: not for this test
        exempt["rate_limit_exempt"] = []
    tab = await opened(browser, base(await serve(rate_limit=0.001, **exempt)) + "?num=79170415564")
    said = await message(tab, "one-message")
    assert re.fullmatch(r"Too many lookups from your address just now\. Try again in \d+ seconds?\.", said), (
        said
    )
    assert await tab.js("document.getElementById('card').hidden") is True
