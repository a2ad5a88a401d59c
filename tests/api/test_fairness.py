"""One client's batches do not block everyone: numbers in batches count against a per-address budget (shared
by replicas through Redis), and a batch hands the event loop back while it works."""

from __future__ import annotations

import asyncio
import json
import random

from redis.asyncio import Redis

from tests.api.conftest import MakeClient
from worker.api.app import ITEMS
from worker.lookup.engine import LookupEngine

NOW = 1_000_000.25  # a fixed clock: a test never straddles a window boundary


def new_foreign_numbers(count: int, seed: int) -> list[str]:
    """UK London numbers nobody has looked up yet: each costs a libphonenumber lookup."""
    rng = random.Random(seed)
    return [f"+4420{rng.randrange(70_000_000, 79_999_999)}" for _ in range(count)]


async def test_numbers_in_batches_count_against_a_budget_shared_through_redis(
    make_client: MakeClient, redis: Redis
) -> None:
    replicas = [await make_client(redis=redis, batch_item_rate=1000) for _ in range(2)]
    for replica in replicas:
        replica.app[ITEMS].clock = lambda: NOW  # type: ignore[index]
    first = await replicas[0].post("/get/v2/batch", json=["79170415564"] * 600)
    assert first.status == 200
    second = await replicas[1].post("/get/v2/batch", json=["79170415564"] * 600)  # the other replica
    assert second.status == 429
    body = json.loads(await second.text())
    assert body["info"] == "Too many numbers in batches: the limit is 1000 per 1 s per address"
    assert second.headers["Retry-After"] == str(body["retry_after"]) == "1"
    small = await replicas[0].post("/get/v2/batch", json=["79170415564"] * 10)
    assert small.status == 429  # 1,210 > 1,000: the refused batch counted too, as a refused request does
    single = await replicas[0].get("/get/v2/?num=79170415564")
    assert single.status == 200  # single lookups are the request limit's business


async def test_a_batch_larger_than_the_budget_still_passes_alone(
    make_client: MakeClient, redis: Redis
) -> None:
    client = await make_client(redis=redis, batch_item_rate=100)
    client.app[ITEMS].clock = lambda: NOW  # type: ignore[index]
    assert (await client.post("/get/v2/batch", json=["79170415564"] * 500)).status == 200
    assert (await client.post("/get/v2/batch", json=["79170415564"])).status == 429


class Watched(LookupEngine):
    """The engine, telling the test when the batch's first lookup ran."""

    def __init__(self, engine: LookupEngine, started: asyncio.Event) -> None:
        super().__init__(engine.dataset)
        self.started = started

    async def lookup(self, raw: str) -> object:  # type: ignore[override]
        self.started.set()
        return await super().lookup(raw)


async def test_other_clients_are_answered_while_a_batch_works(
    make_client: MakeClient, engine: LookupEngine
) -> None:
    started = asyncio.Event()
    client = await make_client(engine_=Watched(engine, started), batch_item_rate=0)
    numbers = new_foreign_numbers(1000, seed=random.randrange(10**6))
    batch = asyncio.ensure_future(client.post("/get/v2/batch", json=numbers))
    await started.wait()  # resumes only when the batch hands the loop back
    single = await client.get("/get/?num=79170415564")
    assert single.status == 200
    assert not batch.done()  # answered while the batch was still working
    response = await batch
    answers = json.loads(await response.text())
    assert [answer["flag_iso"] for answer in answers] == ["GB"] * 1000
