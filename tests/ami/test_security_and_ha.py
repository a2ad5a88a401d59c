"""Caller ID is attacker-controlled: nothing from it reaches the wire as a header. And several workers on
one Asterisk answer each event once, with any survivor answering when another stops."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from tests.ami.conftest import until, worker_settings
from tests.ami.fake_asterisk import FakeAsterisk
from worker.answer.dialplan import one_line
from worker.asterisk.ami import AmiClient
from worker.asterisk.worker import start_worker
from worker.handlers.claims import Claims
from worker.lookup.engine import LookupEngine

HOSTILE = "79170415564\nAction: Originate\r\nChannel: Local/666@evil\nApplication: System\nData: rm -rf /\n\n"


def test_one_line_strips_every_line_break() -> None:
    assert one_line("a\rb\nc\x00d\x1be\u2028f\u0085g\th") == "abcdefg\th"
    assert one_line("Краснодарский край") == "Краснодарский край"


async def test_hostile_number_never_becomes_a_header(asterisk: FakeAsterisk, engine: LookupEngine) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        # What a lone LF in CALLERID(num) looks like inside the event Asterisk sends (CRLF would end the
        # header at Asterisk already): the value carries the LF to the worker.
        await asterisk.user_event("1795871900.1", HOSTILE, variable="x\nAction: Originate")
        await asterisk.wait(lambda: asterisk.status_of("1795871900.1") != [])

    assert {action.name for action in asterisk.actions} == {"login", "setvar"}
    for action in asterisk.actions:
        if action.name == "setvar":
            assert [name for name, _ in action.headers] == [
                "Action",
                "ActionID",
                "Channel",
                "Variable",
                "Value",
            ]  # as captured
            assert action.get("Channel") == "1795871900.1"
    assert asterisk.status_of("1795871900.1") == ["INVALID"]
    assert [name for name, _ in asterisk.setvars("1795871900.1")] == ["var", "NUM_STATUS"]  # default name


async def test_hostile_values_reach_asterisk_as_one_header(asterisk: FakeAsterisk) -> None:
    settings = worker_settings(asterisk.port).ami
    client = AmiClient(settings.all_servers()[0], settings)
    runner = asyncio.create_task(client.run())
    try:
        await until(lambda: client.state == "connected")
        asterisk.channels.add("1795871900.2")
        await client.setvars("1795871900.2", [("NUM_REGION", HOSTILE)], generation=client.generation)
        with pytest.raises(ValueError, match="not a variable name"):
            await client.setvars(
                "1795871900.2", [("A\nAction: Originate", "x")], generation=client.generation
            )
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    setvars = [a for a in asterisk.actions if a.name == "setvar"]
    assert len(setvars) == 1
    assert setvars[0].get("Value") == one_line(HOSTILE)
    assert "Originate" not in {a.name for a in asterisk.actions}


async def test_two_workers_answer_each_event_once(
    asterisk: FakeAsterisk, engine: LookupEngine, redis: Redis
) -> None:
    settings = worker_settings(asterisk.port)
    async with start_worker(settings, engine, redis) as first:
        async with start_worker(settings, engine, redis) as second:
            await asterisk.wait(lambda: asterisk.logins_ok == 2)
            ids = [f"1795872000.{n}" for n in range(30)]
            for uniqueid in ids:
                await asterisk.user_event(uniqueid, "79170415564")
            await until(lambda: first.stats.events == second.stats.events == len(ids))
            await until(
                lambda: sum(first.stats.answers.values()) + sum(second.stats.answers.values()) == len(ids)
            )
            assert first.stats.duplicates + second.stats.duplicates == len(ids)
            assert all(asterisk.status_of(uid) == ["OK"] for uid in ids)
        # the second worker stopped: the first keeps answering everything
        await asterisk.wait(lambda: len(asterisk._writers) == 1)
        await asterisk.user_event("1795872000.99", "79170415564")
        await asterisk.wait(lambda: asterisk.status_of("1795872000.99") == ["OK"])


async def test_redis_down_answers_anyway(
    asterisk: FakeAsterisk, engine: LookupEngine, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        async with start_worker(worker_settings(asterisk.port), engine, dead) as worker:
            await asterisk.wait(lambda: asterisk.logins_ok == 1)
            await asterisk.user_event("1795872100.1", "79170415564")
            await asterisk.user_event("1795872100.2", "79170415564")
            await asterisk.wait(lambda: asterisk.status_of("1795872100.2") == ["OK"])
            await asterisk.wait(lambda: asterisk.status_of("1795872100.1") == ["OK"])
            assert worker.claims.errors == 2
    finally:
        await dead.aclose()
    logged = [r for r in caplog.records if "Redis claim failed" in r.getMessage()]
    assert len(logged) == 1  # once, not once per event
    assert logged[0].levelno == logging.ERROR


async def test_claim_is_short_lived(redis: Redis) -> None:
    claims = Claims(redis, prefix="t", ttl=0.5)
    assert await claims.claim("pbx", "1.1") is True
    assert await claims.claim("pbx", "1.1") is False
    assert await claims.claim("other-pbx", "1.1") is True  # Uniqueids are per Asterisk
    ttl = await redis.pttl("{t:ami:claim}:pbx:1.1")
    assert 0 < ttl <= 500


async def test_a_claim_whose_reply_was_lost_is_still_won(redis: Redis) -> None:
    """A failover loses the reply of a ``SET NX`` the master applied; redis-py's retry then finds the key.
    The worker that set it must still answer (before, both workers skipped the event: it got no answer)."""
    claims = Claims(redis, prefix="t", ttl=5)
    real_execute = Pipeline.execute
    calls = 0

    async def applied_then_lost(pipe: Pipeline, raise_on_error: bool = True) -> list[object]:
        nonlocal calls
        calls += 1
        if calls == 1:  # applied, reply lost; the retry sends the same commands and sees the key exist
            sent = list(pipe.command_stack)
            await real_execute(pipe, raise_on_error)
            pipe.command_stack = sent
        return await real_execute(pipe, raise_on_error)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Pipeline, "execute", applied_then_lost)
        assert await claims.claim("pbx", "2.1") is True
    assert await Claims(redis, prefix="t", ttl=5).claim("pbx", "2.1") is False  # another worker: skips it
    assert await claims.claim("pbx", "2.1") is False  # the same event again: answered once already
