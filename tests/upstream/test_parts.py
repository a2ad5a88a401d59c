"""The parts one at a time: settings, the http template source, the shared budget, the breaker, the stores,
and the dataset's MNP date that decides what is superseded."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from tests.conftest import MEGAFON
from tests.conftest import real_redis as connect_real_redis
from tests.data.conftest import BRANDS, FIXTURES, REAL_DEF
from tests.upstream.conftest import upstream_engine
from worker.answer.model import RussianAnswer
from worker.data.dataset.store import LocalStore
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges
from worker.errors import ConfigError
from worker.lookup.upstream.breaker import Breaker
from worker.lookup.upstream.budget import Budget
from worker.lookup.upstream.sources import Source, Verdict, dig
from worker.lookup.upstream.store import Entry, RedisStore, SqliteStore
from worker.settings import Settings, load_settings


def test_upstreams_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "NUMLOOKUP_UPSTREAMS",
        '[{"kind": "voxlink", "url": "http://127.0.0.1:9999", "rate": 5}, {"kind": "voxlink", "url": "http://b"}]',
    )
    monkeypatch.setenv("NUMLOOKUP_UPSTREAM__DEADLINE", "0.5")
    settings = load_settings()
    assert [(s.name, s.kind, s.budget, s.timeout) for s in settings.upstreams] == [
        ("voxlink", "voxlink", 5.0, 2.0),
        ("voxlink-2", "voxlink", 8.0, 2.0),  # voxlink's default budget stays below its 10/s
    ]
    assert settings.upstream.deadline == 0.5
    monkeypatch.delenv("NUMLOOKUP_UPSTREAMS")
    assert Settings().upstreams == []  # off by default


@pytest.mark.parametrize(
    ("upstreams", "complaint"),
    [
        ([{"kind": "http", "url": "https://api.example/x", "operator": "op"}], "{number}"),
        ([{"kind": "http", "url": "https://api.example/{number}"}], "operator"),
        ([{"kind": "hlr", "url": "https://x"}], "kind"),
        ([{"kind": "voxlink", "url": "https://x", "rate": 0}], "rate"),
        (
            [
                {"kind": "voxlink", "url": "https://x", "name": "a"},
                {"kind": "http", "url": "{number}", "operator": "o", "name": "a"},
            ],
            "two upstreams are named",
        ),
    ],
)
def test_bad_upstream_settings_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, upstreams: list[dict[str, Any]], complaint: str
) -> None:
    monkeypatch.setenv("NUMLOOKUP_UPSTREAMS", json.dumps(upstreams))
    with pytest.raises(ConfigError, match="invalid settings") as error:
        load_settings()
    assert complaint in str(error.value)


async def test_an_http_template_source(data_dir: Path, dataset: Any, aiohttp_server: Any) -> None:
    seen: list[tuple[str, str | None]] = []

    async def mnp(request: web.Request) -> web.Response:
        seen.append((request.match_info["number"], request.headers.get("Authorization")))
        body = {"result": [{"holder": {"inn": MEGAFON.inn, "name": "мегафон"}, "was": {"inn": "7740000076"}}]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/mnp/{number}", mnp)
    server = await aiohttp_server(app)
    source = {
        "kind": "http", "url": f"http://127.0.0.1:{server.port}/mnp/{{number}}", "number_form": "plus",
        "headers": {"Authorization": "Bearer {secret}"}, "secret": "s3cret",
        "operator": "result.0.holder.name", "operator_inn": "result.0.holder.inn",
        "old_operator_inn": "result.0.was.inn",
    }  # fmt: skip
    settings = Settings(data_dir=data_dir, upstreams=[source])
    async with upstream_engine(settings, dataset) as engine:
        answer = await engine.lookup("89170000123")
    assert isinstance(answer, RussianAnswer)
    assert answer.operator is dataset.operators[2]  # our МегаФон, found by its ИНН
    assert (answer.operator.brand, answer.old_operator and answer.old_operator.brand) == ("МегаФон", "МТС")
    assert seen == [("+79170000123", "Bearer s3cret")]


@pytest.fixture
async def real_redis() -> Any:
    client = await connect_real_redis()
    prefix = f"test-budget-{time.monotonic_ns()}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_replicas_share_one_budget_and_one_hold(real_redis: Any) -> None:
    client, prefix = real_redis
    replicas = [Budget("voxlink", 5, 2, client, prefix=prefix) for _ in range(3)]
    grants = [await replicas[n % 3].take() for n in range(9)]
    assert [grant.allowed for grant in grants].count(True) == 2  # the burst, once, for all three
    refused = grants[-1]
    assert 0 < refused.wait <= 0.2 + 0.05  # the next token in 1/5 s
    await asyncio.sleep(refused.wait + 0.05)
    assert (await replicas[1].take()).allowed
    await replicas[0].hold(5)  # a 429 seen by one replica holds them all
    await asyncio.sleep(0.45)  # tokens pile up meanwhile (two at 5/s), and still
    held = await replicas[2].take()
    assert (held.allowed, held.wait > 0) == (False, True)


async def test_without_redis_the_budget_is_this_process_own() -> None:
    budget = Budget("voxlink", 1000, 3, None)
    assert [(await budget.take()).allowed for _ in range(4)] == [True, True, True, False]
    await budget.hold(60)
    await asyncio.sleep(0.01)
    assert not (await budget.take()).allowed


def test_the_breaker_opens_then_lets_one_trial_through(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("worker.lookup.upstream.breaker.time.monotonic", lambda: clock[0])
    breaker = Breaker(failures=2, reset=10)
    breaker.failed()
    assert breaker.state == "closed"
    breaker.failed()
    assert (breaker.state, breaker.allow()) == ("open", False)
    clock[0] += 10
    assert (breaker.state, breaker.allow(), breaker.allow()) == ("half-open", True, False)  # one trial
    breaker.failed()
    assert breaker.state == "open"  # the trial failed: open for another reset
    clock[0] += 10
    assert breaker.allow()
    breaker.succeeded()
    assert (breaker.state, breaker.opened) == ("closed", 2)


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
async def test_stores_keep_answers_learned_ports_and_claims(kind: str, redis: Redis, tmp_path: Path) -> None:
    store: Any = (
        RedisStore(redis, prefix="t", learned_ttl=3600)
        if kind == "redis"
        else SqliteStore(tmp_path / "cache.sqlite3", learned_ttl=3600)
    )
    ported = Entry(Verdict("МТС", ported=True, old_operator="Т2"), "voxlink", time.time())
    assert await store.get("79000000000") is None
    await store.put("79000000000", ported, 1)
    await store.learn("79000000000", ported)
    assert await store.get("79000000000") == ported
    await asyncio.sleep(1.1)  # the answer expired; the learned port stays
    assert await store.get("79000000000") == ported
    assert [digits async for digits, _ in store.learned()] == ["79000000000"]
    await store.unlearn("79000000000")
    assert await store.get("79000000000") is None
    assert await store.claim("79170000123", 5)
    assert not await store.claim("79170000123", 5)  # another replica waits for the first one's answer
    await store.release("79170000123")
    assert await store.claim("79170000123", 5)
    await store.learn("79000000001", ported)
    newer = Entry(ported.verdict, "voxlink", time.time() + 10)
    await store.learn("79000000002", newer)
    assert await store.forget_learned_before(time.time() + 5) == 1  # an MNP import between the two
    assert [digits async for digits, _ in store.learned()] == ["79000000002"]
    assert await store.clear_learned() == 1
    if kind == "sqlite":
        store.close()


def test_entries_that_cannot_be_read_are_misses() -> None:
    assert Entry.decode(b"not json") is None
    assert Entry.decode('{"verdict": {"nope": 1}, "source": "x", "at": 1}') is None
    failed = Entry(None, "", 5.0, failed=True)
    assert Entry.decode(failed.encode()) == failed


def test_the_mnp_date_is_set_by_mnp_imports_and_kept_by_registry_imports(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data")
    import_registry(store, [REAL_DEF, FIXTURES], brands=BRANDS, keep=3)
    assert store.open().meta.mnp_updated is None
    dataset = store.open()
    ranges = mobile_ranges(dataset.range_array(), [operator.inn for operator in dataset.operators])
    files = gen_mnp(tmp_path / "mnp", ranges, numbers=500, increments=0, seed=1)
    before = time.time()
    imported = import_mnp(store, files, keep=3, brands=BRANDS).mnp_updated
    assert imported is not None
    assert imported.timestamp() >= before
    again = import_registry(store, [REAL_DEF, FIXTURES], brands=BRANDS, keep=3)
    assert again.mnp_updated == imported
    assert store.open().meta.mnp_updated == imported


def test_upstreams_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "numlookup.toml"
    config.write_text(
        '[[upstreams]]\nkind = "voxlink"\nurl = "https://num.voxlink.ru"\n\n'
        '[[upstreams]]\nkind = "http"\nname = "smsc"\nurl = "https://api.example/mnp?phone={number}"\n'
        'headers = { Authorization = "Bearer {secret}" }\nsecret = "s3cr3t-token"\n'
        'operator = "result.operator"\n\n'
        "[upstream]\ndeadline = 0.2\n",
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert [(s.name, s.kind) for s in settings.upstreams] == [("voxlink", "voxlink"), ("smsc", "http")]
    assert settings.upstreams[1].secret.get_secret_value() == "s3cr3t-token"
    assert "s3cr3t-token" not in repr(settings)  # a secret setting stays out of logs
    assert settings.upstream.deadline == 0.2


def test_what_an_upstream_says_is_one_short_line() -> None:
    document = {"a": {"b": ["x", " МТС\r\nAction: Originate\r\n" + "z" * 500]}, "n": 7707049388, "t": True}
    assert dig(document, "a.b.1") == ("МТСAction: Originate" + "z" * 500)[:200]
    assert (dig(document, "n"), dig(document, "t"), dig(document, "a.b.9"), dig(document, "a.x.y")) == (
        "7707049388",
        "",
        "",
        "",
    )


def test_an_http_api_that_always_names_a_previous_operator() -> None:
    settings = Settings(
        upstreams=[{"kind": "http", "url": "http://x/{number}", "operator": "now", "old_operator": "before"}]
    )
    source = Source(settings.upstreams[0])
    assert source.parse({"now": "МТС", "before": "мтс"}) == Verdict("МТС", "", False, "мтс", "")
    assert source.parse({"now": "МТС", "before": "Т2"}) == Verdict("МТС", "", True, "Т2", "")
    assert source.parse({"now": "МТС"}) == Verdict("МТС", "", False, "", "")
    assert source.parse({"operator": "МТС"}) is None  # no operator where the template says: a bad answer
