"""Hot reload under load: every answer comes whole from one version, and nothing fails during a switch.

Version A gives every range to operator "A" in region "A"; version B to "B" in "B"; a ported number goes to
"A-ported" / "B-ported". An answer whose operator and region name different versions is *mixed*. The engine
follows the store with the real :func:`worker.service.reload.follow` loop while versions are published.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from tests.update.versions import Range, publish_version
from worker.answer.model import Answer, Operator, RussianAnswer
from worker.data.dataset import redis_store
from worker.data.dataset.format import Dataset
from worker.data.dataset.store import LocalStore
from worker.lookup.engine import LookupEngine
from worker.service.reload import LocalSource, follow

SWAPS = 6
HTTP_SWAPS = 30
PER_SWAP = 300  # answers to see after each switch before the next one
PORTED = 9170000001
NUMBERS = ["79000000001", "79000062500", "74959890000", "79261234567", f"7{PORTED}", "79179999999"]


def version_ranges(letter: str) -> list[Range]:
    operator = Operator(f"000000000{ord(letter) - 64}", letter, letter)
    region = f"Регион {letter}"
    spans = [(9000000000 + i * 100_000, 9000000000 + i * 100_000 + 99_999) for i in range(0, 1000)]
    spans += [(9170000000, 9179999999), (9261000000, 9261999999), (4959890000, 4959899999)]
    return [(start, end, operator, region) for start, end in spans]


def publish(store: LocalStore, letter: str) -> str:
    """Version A or B; every test number is ported (to "A-ported" or "B-ported"), so an answer that took its
    range from one version and its recipient from the other is caught whichever number it was for."""
    recipient = Operator(f"99999999{ord(letter) - 64}", f"{letter}-ported", letter)
    ported = {int(number[1:]): recipient for number in NUMBERS}
    return publish_version(store, version_ranges(letter), ported=ported, keep=3).version


def version_of(answer: Answer) -> str:
    """The version letter an answer came from; raises if its parts name two versions."""
    assert isinstance(answer, RussianAnswer)
    letters = {answer.operator.name[0], answer.allocation.region[-1], answer.allocation.operator.name[0]}
    if len(letters) != 1:
        raise AssertionError(f"mixed answer: {answer}")
    return letters.pop()


class SignallingEngine(LookupEngine):
    """The engine, telling the test when it switched (instead of the test polling it)."""

    switched: asyncio.Event

    def use(self, dataset: Dataset | None) -> Dataset | None:
        previous = super().use(dataset)
        self.switched.set()
        return previous


@contextlib.asynccontextmanager
async def following(store: LocalStore) -> AsyncIterator[SignallingEngine]:
    engine = SignallingEngine(store.open())
    engine.switched = asyncio.Event()
    task = asyncio.create_task(follow(LocalSource(store), engine, interval=0.01))
    try:
        yield engine
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Tally:
    """Answers seen, by version; wakes the swapper when enough answers came after the last switch."""

    def __init__(self) -> None:
        self.versions: Counter[str] = Counter()
        self.failed: list[str] = []
        self.stale = 0
        self.since_switch = 0
        self.enough = asyncio.Event()

    def record(self, started_on: str, ended_on: str, letter: str) -> None:
        """An answer to a question asked while ``started_on`` served and answered while ``ended_on`` did."""
        self.versions[letter] += 1
        if letter not in (started_on, ended_on):
            self.stale += 1  # e.g. asked after the switch to B, answered by A
        self.since_switch += 1
        if self.since_switch >= PER_SWAP:
            self.enough.set()

    def switched(self) -> None:
        self.since_switch = 0
        self.enough.clear()


def serving(engine: LookupEngine) -> str:
    """The letter of the version the engine serves now."""
    assert engine.dataset is not None
    return engine.dataset.operators[0].name[0]


async def swap_under_load(
    tmp_path: Path,
    client_loop: Callable[[SignallingEngine, Tally, asyncio.Event], Awaitable[None]],
    clients: int,
    swaps: int = SWAPS,
) -> Tally:
    store = LocalStore(tmp_path / "data")
    publish(store, "A")
    tally = Tally()
    done = asyncio.Event()
    async with following(store) as engine:
        workers = [asyncio.create_task(client_loop(engine, tally, done)) for _ in range(clients)]
        await tally.enough.wait()
        for swap in range(swaps):
            letter = "B" if swap % 2 == 0 else "A"
            engine.switched.clear()
            await asyncio.to_thread(publish, store, letter)
            await engine.switched.wait()
            assert serving(engine) == letter
            tally.switched()
            await tally.enough.wait()
        done.set()
        await asyncio.gather(*workers)
    return tally


async def test_http_answers_are_never_failed_or_mixed_during_switches(tmp_path: Path) -> None:
    engine_box: list[LookupEngine] = []

    async def lookup(request: web.Request) -> web.Response:
        answer = await engine_box[0].lookup(request.match_info["number"])
        assert isinstance(answer, RussianAnswer)
        return web.json_response(
            {
                "operator": answer.operator.name,
                "range_operator": answer.allocation.operator.name,
                "region": answer.allocation.region,
            }
        )

    app = web.Application()
    app.router.add_get("/lookup/{number}", lookup)
    async with TestClient(TestServer(app)) as http:

        async def client(engine: SignallingEngine, tally: Tally, done: asyncio.Event) -> None:
            if not engine_box:
                engine_box.append(engine)
            index = 0
            while not done.is_set():
                number = NUMBERS[index % len(NUMBERS)]
                index += 1
                started_on = serving(engine)
                async with http.get(f"/lookup/{number}") as response:
                    if response.status != 200:
                        tally.failed.append(f"{number}: HTTP {response.status}")
                        continue
                    body = await response.json()
                letters = {body["operator"][0], body["range_operator"][0], body["region"][-1]}
                if len(letters) != 1:
                    tally.failed.append(f"{number}: mixed {body}")
                    continue
                tally.record(started_on, serving(engine), letters.pop())

        # Many switches: an answer can only mix versions if a switch lands inside a request.
        tally = await swap_under_load(tmp_path, client, clients=32, swaps=HTTP_SWAPS)
    assert tally.failed == []
    assert tally.stale == 0
    assert tally.versions["A"] >= PER_SWAP * (HTTP_SWAPS // 2)
    assert tally.versions["B"] >= PER_SWAP * (HTTP_SWAPS // 2)


# Two threads hammering lookup_now hold the GIL against the event loop: 20 to 60 s on a shared 2-core machine.
@pytest.mark.timeout(180)
async def test_ami_like_load_sees_whole_versions_only(tmp_path: Path) -> None:
    """Many concurrent event handlers in the loop, plus threads calling lookup_now, while versions switch."""
    stop_threads = threading.Event()
    thread_seen: Counter[str] = Counter()
    thread_errors: list[BaseException] = []

    def thread_loop(engine: LookupEngine) -> None:
        index = 0
        while not stop_threads.is_set():
            try:
                thread_seen[version_of(engine.lookup_now(NUMBERS[index % len(NUMBERS)]))] += 1
            except BaseException as error:  # recorded and asserted on below
                thread_errors.append(error)
                return
            index += 1

    executor = ThreadPoolExecutor(max_workers=2)
    threads: list[object] = []

    async def handler(engine: SignallingEngine, tally: Tally, done: asyncio.Event) -> None:
        if not threads:  # the first handler starts the threads on the engine under test
            threads.extend(executor.submit(thread_loop, engine) for _ in range(2))
        index = 0
        while not done.is_set():
            started_on = serving(engine)
            try:
                answer = await engine.lookup(NUMBERS[index % len(NUMBERS)])
                await asyncio.sleep(0)  # the Setvar round trip to Asterisk, where other events run
                tally.record(started_on, serving(engine), version_of(answer))
            except AssertionError as error:
                tally.failed.append(str(error))
            index += 1

    try:
        tally = await swap_under_load(tmp_path, handler, clients=64)
    finally:
        stop_threads.set()
        executor.shutdown(wait=True)
    assert tally.failed == []
    assert thread_errors == []
    assert tally.stale == 0
    assert min(tally.versions["A"], tally.versions["B"]) >= PER_SWAP * (SWAPS // 2)
    assert set(thread_seen) == {"A", "B"}


@pytest.mark.parametrize("letter", ["A", "B"])
def test_versions_are_told_apart(tmp_path: Path, letter: str) -> None:
    """The marker itself: each version answers every test number with its own letter."""
    store = LocalStore(tmp_path / "data")
    publish(store, letter)
    engine = LookupEngine(store.open())
    assert {version_of(engine.lookup_now(number)) for number in NUMBERS} == {letter}
    assert engine.lookup_now(f"7{PORTED}").operator.name == f"{letter}-ported"


async def test_replicas_follow_redis_without_mixed_answers(tmp_path: Path, redis: Redis) -> None:
    """Two replicas, each with its own data dir, follow the version named in Redis while under load."""
    primary = LocalStore(tmp_path / "primary")
    prefix = "test-replicas"
    versions = {letter: publish(primary, letter) for letter in ("A", "B")}
    await redis_store.publish(redis, prefix, primary.versions_dir / versions["A"], keep=5)
    engines, followers = [], []
    for name in ("replica1", "replica2"):
        engine = SignallingEngine(None)
        engine.switched = asyncio.Event()
        source = redis_store.RedisSource(redis, LocalStore(tmp_path / name), prefix=prefix, keep=3)
        followers.append(asyncio.create_task(follow(source, engine, interval=0.01)))
        engines.append(engine)
    done = asyncio.Event()
    seen: Counter[str] = Counter()
    mixed: list[str] = []

    async def load(engine: LookupEngine) -> None:
        index = 0
        while not done.is_set():
            try:
                seen[version_of(await engine.lookup(NUMBERS[index % len(NUMBERS)]))] += 1
            except AssertionError as error:
                mixed.append(str(error))
            index += 1
            await asyncio.sleep(0)

    async def switched(engine: SignallingEngine, letter: str) -> None:
        """Waits for the switch, or fails saying where each replica and Redis stood (not a silent hang)."""
        try:
            async with asyncio.timeout(30):
                await engine.switched.wait()
        except TimeoutError:
            current = await redis_store.current_version(redis, prefix)
            states = [(e.version, f.done()) for e, f in zip(engines, followers, strict=True)]
            pytest.fail(f"no switch to {letter}: Redis names {current}; (version, follower done): {states}")
        assert serving(engine) == letter

    try:
        for engine in engines:
            await switched(engine, "A")
            engine.switched.clear()
        workers = [asyncio.create_task(load(engine)) for engine in engines for _ in range(4)]
        await redis_store.publish(redis, prefix, primary.versions_dir / versions["B"], keep=5)
        for engine in engines:
            await switched(engine, "B")
        done.set()
        await asyncio.gather(*workers)
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    assert mixed == []
    assert seen["A"] > 0
    assert seen["B"] > 0
