"""``/health``, ``/metrics``, ``/openapi.json``, CORS and the page's HTML."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from openapi_spec_validator import validate
from prometheus_client.core import CounterMetricFamily, Metric
from redis.asyncio import Redis

from tests.api.conftest import Client, MakeClient
from tests.metrics import API_SERIES, sample, series
from worker.api import page
from worker.api.app import create_app
from worker.api.health import AmiState
from worker.data.dataset.format import Dataset
from worker.data.dataset.store import LocalStore
from worker.lookup.cache import RedisCache
from worker.lookup.engine import LookupEngine
from worker.settings import Settings


class FakeAmi:
    """Shaped like worker.asterisk.worker.EnrichmentWorker: health() and a Prometheus collect()."""

    def __init__(self, connected: bool) -> None:
        self.connected = connected

    def health(self) -> Mapping[str, object]:
        return {"ok": self.connected, "ami": [{"server": "127.0.0.1:5038"}]}

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("numlookup_ami_events", "UserEvent(Num) events received", 7)


async def health(client: Client) -> dict[str, object]:
    response = await client.get("/health")
    assert response.status == 200
    body: dict[str, object] = json.loads(await response.text())
    return body


async def test_health_reports_dataset_without_redis(client: Client, dataset: Dataset) -> None:
    body = await health(client)
    assert body["status"] == "ok"
    assert body["dataset"] == {
        "version": dataset.version,
        "created": dataset.meta.created.isoformat(),
        "age_seconds": round(dataset.meta.age_seconds),
        "ranges": 5,
        "ported": 3,
        "source": "imported",
        "published": dataset.meta.created.astimezone(UTC).date().isoformat(),  # unknown: the build's date
        "age_days": 0,
        "stale": False,
    }
    assert body["redis"] == {"configured": False}
    assert body["ami"] is None


def dated_copy(data_dir: Path, source: str, published: date) -> Dataset:
    """The small dataset again, saying it is ``source``'s registry published on ``published``."""
    original = LocalStore(data_dir).open()
    copy = data_dir.parent / f"copy-{source}-{published}"
    shutil.copytree(original.directory, copy)
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    meta.update(source=source, published=published.isoformat())
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return Dataset(copy)


@pytest.mark.parametrize(
    ("days_old", "stale_after", "status"), [(40, 30, "warning"), (30, 30, "ok"), (40, 60, "ok")]
)
async def test_health_warns_when_the_registry_is_older_than_the_setting(
    aiohttp_client: Any, data_dir: Path, days_old: int, stale_after: int, status: str
) -> None:
    published = datetime.now(UTC).date() - timedelta(days=days_old)
    engine = LookupEngine(dated_copy(data_dir, "bundled", published))
    settings = Settings(data_dir=data_dir, data={"stale_after_days": stale_after})
    client: Client = await aiohttp_client(create_app(settings, engine))
    body = await health(client)
    assert body["status"] == status  # still HTTP 200: a warning, not an outage
    dataset = body["dataset"]
    assert isinstance(dataset, dict)
    assert (dataset["source"], dataset["published"]) == ("bundled", published.isoformat())
    assert (dataset["age_days"], dataset["stale"]) == (days_old, status == "warning")


async def test_degraded_outranks_stale(aiohttp_client: Any, data_dir: Path) -> None:
    engine = LookupEngine(dated_copy(data_dir, "portal", date(2020, 1, 1)))
    client: Client = await aiohttp_client(
        create_app(Settings(data_dir=data_dir), engine, ami_state=FakeAmi(False))
    )
    assert (await health(client))["status"] == "degraded"


async def test_health_without_dataset_is_degraded(make_client: MakeClient) -> None:
    body = await health(await make_client(engine_=LookupEngine()))
    assert (body["status"], body["dataset"]) == ("degraded", None)


async def test_health_with_redis_and_ami(make_client: MakeClient, redis: Redis) -> None:
    assert isinstance(FakeAmi(True), AmiState)
    body = await health(await make_client(redis=redis, ami_state=FakeAmi(True)))
    assert body["status"] == "ok"
    assert body["redis"] == {"configured": True, "reachable": True}
    assert body["ami"] == {"ok": True, "ami": [{"server": "127.0.0.1:5038"}]}
    client = await make_client(redis=redis, ami_state=FakeAmi(False))
    body = await health(client)
    assert body["status"] == "degraded"
    metrics_text = await (await client.get("/metrics")).text()
    assert sample(metrics_text, "numlookup_ami_events_total") == 7


async def test_metrics(make_client: MakeClient, dataset: Dataset, redis: Redis) -> None:
    engine = LookupEngine(dataset, shared=RedisCache(redis))
    client = await make_client(engine_=engine, redis=redis)
    for _ in range(3):
        await (await client.get("/get/v2/?num=358181201235")).read()
    for query in ("num=74959898533", "num=74959898533", "num=x", "num=358181201235", "num=358181201235"):
        await (await client.get(f"/get/?{query}")).read()
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    assert sample(text, "numlookup_http_requests_total", route="v1", status="200") == 2
    assert sample(text, "numlookup_http_requests_total", route="v1", status="404") == 3
    assert sample(text, "numlookup_http_request_duration_seconds_count", route="v1") == 5
    assert sample(text, "numlookup_http_request_duration_seconds_bucket", route="v1", le="+Inf") == 5
    assert sample(text, "numlookup_http_request_duration_seconds_bucket", route="v2", le="2.5") == 3
    # 358181201235 is asked five times (v2 three times, then v1 twice: "not Russian" needs libphonenumber's
    # answer): Redis missed once and libphonenumber answered, then the in-process cache did.
    assert sample(text, "numlookup_cache_hits_total", cache="memory") == 4
    assert sample(text, "numlookup_cache_misses_total", cache="memory") == 1
    assert sample(text, "numlookup_cache_misses_total", cache="redis") == 1
    assert sample(text, "numlookup_dataset_info", version=dataset.version) == 1
    assert sample(text, "numlookup_dataset_age_seconds", version=dataset.version) >= 0
    assert sample(text, "numlookup_redis_up") == 1
    assert sample(text, "numlookup_rate_limited_total") == 0
    assert series(text) == API_SERIES  # every series a dashboard relies on, named and labelled as always


async def test_metrics_without_redis_have_no_redis_up(client: Client) -> None:
    await (await client.get("/get/?num=74959898533")).read()
    text = await (await client.get("/metrics")).text()
    assert sample(text, "numlookup_http_requests_total", route="v1", status="200") == 1
    assert set(series(text)) == set(API_SERIES) - {"numlookup_redis_up"}


async def test_openapi_document_is_valid_and_covers_the_routes(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = json.loads(await response.text())
    validate(document)
    assert set(document["paths"]) == {
        "/get/",
        "/get/v2/",
        "/get/batch",
        "/get/v2/batch",
        "/health",
        "/metrics",
    }


@pytest.mark.parametrize("path", ["/get/", "/get/v2/batch", "/health"])
async def test_cors_preflight(client: Client, path: str) -> None:
    response = await client.options(
        path,
        headers={
            "Origin": "https://crm.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("path", ["/get/?num=74959898533", "/get/?num=x", "/get/v2/?num=0", "/nowhere"])
async def test_cors_header_on_every_answer(client: Client, path: str) -> None:
    response = await client.get(path, headers={"Origin": "https://crm.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "path", ["/get/?num=74959898533", "/get/?num=79261234567", "/get/v2/?num=358181201235"]
)
async def test_a_page_on_another_origin_may_read_where_the_answer_came_from(
    client: Client, path: str
) -> None:
    response = await client.get(path, headers={"Origin": "https://crm.example"})
    assert response.headers["X-Numlookup-Source"] in ("registry", "mnp")
    assert response.headers["Access-Control-Expose-Headers"] == "X-Numlookup-Source"


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/", "text/html; charset=utf-8", 'id="num"'),
        ("/static/page.js", "text/javascript; charset=utf-8", 'from "./card.js"'),
        ("/static/table.js", "text/javascript; charset=utf-8", '"get/v2/batch"'),
        ("/static/page.css", "text/css; charset=utf-8", ".card"),
    ],
)
async def test_page_is_served(client: Client, path: str, content_type: str, text: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert text in await response.text()
    head = await client.head(path)
    assert head.status == 200
    assert (await client.post(path)).status == 405


async def test_page_files_load_nothing_from_elsewhere(make_client: MakeClient) -> None:
    client = await make_client(batch_limit=250)
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


class BrokenEngine(LookupEngine):
    """Every way the views ask an engine ends in a bug."""

    async def lookup(self, raw: str) -> NoReturn:
        raise RuntimeError("a bug, not an input")

    def registry_answer(self, raw: str) -> NoReturn:
        raise RuntimeError("a bug, not an input")


async def test_a_bug_is_a_logged_json_500(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    client = await make_client(engine_=BrokenEngine())
    for path in ("/get/v2/?num=74959898533", "/get/?num=x&field=operator"):
        assert (await client.get(path)).status == 500
    response = await client.get("/get/?num=74959898533")
    assert response.status == 500
    assert json.loads(await response.text()) == {"info": "Internal error"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "unexpected error answering GET /get/?num=74959898533" in caplog.text
    assert "RuntimeError: a bug, not an input" in caplog.text


async def test_metrics_label_preflight_and_unrouted(client: Client) -> None:
    await (await client.options("/get/")).read()
    await (await client.get("/nowhere")).read()
    await (await client.post("/health")).read()
    text = await (await client.get("/metrics")).text()
    assert sample(text, "numlookup_http_requests_total", route="preflight", status="204") == 1
    assert sample(text, "numlookup_http_requests_total", route="other", status="404") == 1
    assert sample(text, "numlookup_http_requests_total", route="other", status="405") == 1
