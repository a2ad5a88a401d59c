"""Screenshots of the lookup page at desktop and phone widths, written to ``tmp/artifacts/``, and checked in
the browser's own canvas for text where each field of the card is."""

from __future__ import annotations

import base64
import json
from typing import Final

import pytest

from tests.api.browser import Browser
from tests.api.conftest import Serve
from tests.api.pages import ARTIFACTS, BAD, FOREIGN, MTS_917, NEEDS_CHROMIUM, base, look_up, opened

pytestmark = NEEDS_CHROMIUM


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
    "number", "operator", "ported", "region", "locality", "country", "flag", "type", "time", "zones",
    "callable", "source",
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
