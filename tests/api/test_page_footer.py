"""The lookup page's footer in headless Chromium: the data's source, publication and age, Redis and AMI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import fakeredis

from tests.api.browser import Browser
from tests.api.conftest import Client, Serve, make_settings
from tests.api.pages import NEEDS_CHROMIUM, base, opened
from tests.conftest import build_small_dataset
from worker.api.app import create_app
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine

pytestmark = NEEDS_CHROMIUM


WHAT: Final = {
    "bundled": "the registry bundled with numlookup",
    "imported": "an imported registry",
    "portal": "the registry from the official portal",
}


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
    assert data.endswith(f"Version {version}, built 3 days ago."), data
    # what /health says of the data's source and publication, in words
    dataset = (await (await client.get("/health")).json())["dataset"]
    days = dataset["age_days"]
    published = f"published {dataset['published']}, " + ("today" if days == 0 else f"{days} days ago")
    assert data.startswith(f"Data: {WHAT[dataset['source']]} {published}. "), data
    assert await tab.js("document.getElementById('health-redis').textContent") == "Redis: connected."
    assert await tab.js("document.getElementById('health-ami').textContent") == "AMI: connected."
    assert await tab.js("document.getElementById('health').className") == ""
    await redis.aclose()


async def test_footer_with_source_publication_and_trouble(serve: Serve, browser: Browser) -> None:
    tab = await opened(browser, base(await serve("extras")))
    data = await tab.js("document.getElementById('health-data').textContent")
    assert data.startswith(
        "Data: the registry bundled with numlookup published 2026-03-01, 277 days ago. Version "
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
