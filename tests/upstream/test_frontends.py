"""Where an answer came from, as every front end shows it (X-Numlookup-Source, NUM_SOURCE, /health,
/metrics), and the AMI worker's two steps: the local variables at once, NUM_STATUS after the upstream."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.ami.fake_asterisk import FakeAsterisk
from tests.ami.test_fastagi import asterisk_side
from tests.metrics import UPSTREAM_SERIES, series
from tests.upstream.conftest import upstream_engine, upstream_settings
from tests.upstream.fake_voxlink import FakeVoxlink
from worker.api.app import create_app
from worker.asterisk.fastagi import FastAgiServer
from worker.asterisk.stats import HandlerStats
from worker.asterisk.worker import start_worker
from worker.cli.learned import forget_superseded
from worker.cli.main import main
from worker.data.dataset.format import Dataset
from worker.lookup.engine import LookupEngine
from worker.settings import FastAgiSettings, Settings


async def test_the_source_header_and_health_and_metrics(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, aiohttp_client: Any
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 100, "burst": 10})
    settings.http.rate_limit = 0
    async with upstream_engine(settings, dataset) as engine:
        client = await aiohttp_client(create_app(settings, engine))
        seen = []
        queries = ("num=79170000123", "num=79170000123", "num=74959890001&field=operator", "num=0", "num=abc")
        for query in queries:
            response = await client.get(f"/get/?{query}")
            seen.append((response.status, response.headers.get("X-Numlookup-Source")))
        assert seen == [(200, "upstream"), (200, "cache"), (200, "registry"), (404, "registry"), (404, None)]
        v2 = await client.get("/get/v2/?num=79000000000")
        assert (v2.headers["X-Numlookup-Source"], (await v2.json())["registrar_old"]) == ("upstream", "T2")

        health = await (await client.get("/health")).json()
        assert health["upstreams"] == [
            {
                "name": "voxlink", "kind": "voxlink", "breaker": "closed", "rate": 100.0,
                "budget_left": health["upstreams"][0]["budget_left"], "requests": 2, "errors": 0,
                "last_error": None,
            }
        ]  # fmt: skip
        text = await (await client.get("/metrics")).text()
    assert {name: kind for name, kind in series(text).items() if name.startswith("numlookup_upstream")} == (
        UPSTREAM_SERIES
    )  # the names, types and labels dashboards rely on
    samples = {
        (sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "pid"))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["numlookup_upstream_requests_total", (("outcome", "ok"), ("source", "voxlink"))] == 2
    assert samples["numlookup_upstream_cache_lookups_total", (("result", "memory"),)] == 1
    assert samples["numlookup_upstream_cache_lookups_total", (("result", "miss"),)] == 2
    assert samples["numlookup_upstream_breaker_state", (("source", "voxlink"),)] == 0
    assert samples["numlookup_upstream_request_duration_seconds_count", (("source", "voxlink"),)] == 2
    assert ("numlookup_upstream_budget_left", (("source", "voxlink"),)) in samples


async def test_without_upstreams_the_source_is_the_local_data(
    engine: LookupEngine, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(create_app(Settings(http={"rate_limit": 0}), engine))
    sources = []
    for number in ("79000000000", "79170000123", "+358181201235"):
        response = await client.get(f"/get/v2/?num={number}")
        sources.append(response.headers["X-Numlookup-Source"])
    assert sources == ["mnp", "registry", "registry"]


def ami_settings(data_dir: Path, voxlink: FakeVoxlink, asterisk: FakeAsterisk, **upstream: Any) -> Settings:
    base = upstream_settings(data_dir, voxlink.url, source={"timeout": 5.0}, **upstream)
    server = {"host": "127.0.0.1", "port": asterisk.port, "username": "worker", "secret": "worker-secret"}
    return base.model_copy(
        update={"ami": Settings(ami={"servers": [server]}).ami, "fastagi": FastAgiSettings(enabled=False)}
    )


async def test_ami_sets_the_local_answer_at_once_and_the_status_after_the_upstream(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, asterisk: FakeAsterisk
) -> None:
    voxlink.mode, voxlink.delay = "slow", 0.3
    settings = ami_settings(data_dir, voxlink, asterisk, ami_deadline=3.0)
    async with upstream_engine(settings, dataset) as engine, start_worker(settings, engine, None):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871800.1", "79170000123")
        await asterisk.wait(lambda: ("NUM_SOURCE", "registry") in asterisk.setvars("1795871800.1"))
        assert asterisk.status_of("1795871800.1") == []  # the local answer is set; the status waits
        await asterisk.wait(lambda: asterisk.status_of("1795871800.1") == ["OK"])
    names = asterisk.setvars("1795871800.1")
    assert names[:3] == [
        ("NUM_OPERATOR", "МТС"),
        ("NUM_OLD_OPERATOR", ""),
        ("NUM_REGION", "Республика Башкортостан"),
    ]
    later = dict(names[names.index(("NUM_SOURCE", "registry")) + 2 :])
    assert later["NUM_OPERATOR"] == "МегаФон"
    assert later["NUM_OLD_OPERATOR"] == "МТС"
    assert later["NUM_SOURCE"] == "upstream"
    assert names[-1] == ("NUM_STATUS", "OK")


async def test_ami_status_comes_at_the_deadline_when_the_upstream_hangs(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, asterisk: FakeAsterisk
) -> None:
    voxlink.mode = "hang"
    settings = ami_settings(data_dir, voxlink, asterisk, ami_deadline=0.3)
    async with upstream_engine(settings, dataset) as engine, start_worker(settings, engine, None):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871800.2", "79170000124")
        await asterisk.wait(lambda: asterisk.status_of("1795871800.2") == ["OK"], within=1.5)
    values = dict(asterisk.setvars("1795871800.2"))
    assert (values["NUM_OPERATOR"], values["NUM_SOURCE"]) == ("МТС", "registry")


async def test_fastagi_answers_locally_at_the_deadline(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset
) -> None:
    voxlink.mode = "hang"
    settings = upstream_settings(data_dir, voxlink.url, source={"timeout": 5.0}, deadline=0.3)
    async with upstream_engine(settings, dataset) as engine:
        server = FastAgiServer(engine, HandlerStats(), FastAgiSettings(port=0))
        await server.start()
        started = time.monotonic()
        commands = await asterisk_side(server.port, ["79170000125"])
        waited = time.monotonic() - started
        await server.close()
    assert 'SET VARIABLE NUM_SOURCE "registry"\n' in commands
    assert commands[-1] == 'SET VARIABLE NUM_STATUS "OK"\n'
    assert waited < 2.0  # the upstream never answers; the deadline is 0.3 s


async def test_learned_ports_are_listed_exported_and_cleared(
    voxlink: FakeVoxlink, data_dir: Path, dataset: Dataset, tmp_path: Path, capsys: Any
) -> None:
    settings = upstream_settings(data_dir, voxlink.url, source={"rate": 100, "burst": 100})
    async with upstream_engine(settings, dataset) as engine:  # no Redis: the SQLite file in the data dir
        await asyncio.gather(*(engine.lookup(n) for n in ("79170000123", "79000000000", "79170000999")))
    cli = ["--data-dir", str(data_dir), "data", "learned"]
    assert await asyncio.to_thread(main, cli) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listed] == [["79000000000", "МТС"], ["79170000123", "МегаФон"]]
    export = tmp_path / "learned.csv"
    assert await asyncio.to_thread(main, [*cli, "--export", str(export)]) == 0
    with export.open(encoding="utf-8") as rows:
        exported = list(csv.DictReader(rows))
    assert [(row["number"], row["operator"], row["old_operator"], row["source"]) for row in exported] == [
        ("79000000000", "МТС", "Т2", "voxlink"),
        ("79170000123", "МегаФон", "МТС", "voxlink"),
    ]
    # an official MNP import supersedes them all (import-mnp and mnp-sync call this once they are done)
    later = dataclasses.replace(dataset.meta, mnp_updated=datetime.now(UTC))
    await forget_superseded(settings, later)
    assert "supersedes 2 learned ported numbers" in capsys.readouterr().err
    assert await asyncio.to_thread(main, cli) == 0
    assert capsys.readouterr().out == ""
    voxlink.ported["79170000555"] = ("МегаФон", "МТС")
    async with upstream_engine(settings, dataset) as engine:  # learn another, then forget it
        await engine.lookup("79170000555")
    assert await asyncio.to_thread(main, [*cli, "--clear"]) == 0
    assert "forgot 1 learned" in capsys.readouterr().err
    assert await asyncio.to_thread(main, cli) == 0
    assert capsys.readouterr().out == ""
