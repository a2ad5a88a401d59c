"""The whole loop against the fake Asterisk: UserEvent(Num) → lookup → Setvar by Uniqueid, NUM_STATUS last."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.ami.conftest import until, worker_settings
from tests.ami.fake_asterisk import FakeAsterisk
from tests.ami.test_fastagi import asterisk_side
from tests.metrics import AMI_SERIES, sample, series
from worker.answer.dialplan import variables
from worker.asterisk.worker import start_worker
from worker.cli.main import build_parser
from worker.cli.serve import cmd_worker
from worker.lookup.engine import LookupEngine
from worker.service.serve import serve_worker


async def test_event_answered_by_uniqueid_with_status_last(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.1", "79170415564")
        await until(lambda: worker.stats.answers["OK"] == 1)

        expected = variables(engine.lookup_now("79170415564"), clock=engine.clock)
        assert asterisk.setvars("1795871609.1") == expected
        assert expected[-1] == ("NUM_STATUS", "OK")
        assert ("NUM_OPERATOR", "МТС") in expected
        assert all(
            action.get("Channel") == "1795871609.1" for action in asterisk.actions if action.name == "setvar"
        )
        assert worker.stats.answers["OK"] == 1
        assert worker.stats.latency.count == 1


async def test_headers_choose_variable_name_and_v2(asterisk: FakeAsterisk, engine: LookupEngine) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.2", "+7 (926) 123-45-67", variable="myvar", version="2")
        await asterisk.wait(lambda: asterisk.status_of("1795871609.2") != [])

    got = dict(asterisk.setvars("1795871609.2"))
    expected = variables(engine.lookup_now("79261234567"), version=2, var="myvar", clock=engine.clock)
    assert got == dict(expected)
    assert '"registrar": "MTS"' in got["myvar"]  # ported to MTS, Latin names in v2
    assert "var" not in got


@pytest.mark.parametrize(
    ("number", "status"),
    [("not a number", "INVALID"), ("", "INVALID"), ("0", "INVALID"), ("70000000000", "NOT_FOUND")],
)
async def test_bad_numbers_get_a_status(
    asterisk: FakeAsterisk, engine: LookupEngine, number: str, status: str
) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None):
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.3", number)
        await asterisk.wait(lambda: asterisk.status_of("1795871609.3") != [])
    assert asterisk.status_of("1795871609.3") == [status]


async def test_hung_up_channel_gets_nothing_more(
    asterisk: FakeAsterisk, engine: LookupEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.4", "79170415564")
        asterisk.channels.discard("1795871609.4")  # hung up before the worker answers
        await asterisk.user_event("1795871609.5", "79170415564")  # and the worker keeps going
        await asterisk.wait(lambda: asterisk.status_of("1795871609.5") == ["OK"])
        await until(lambda: worker.stats.hangups == 1)

    assert asterisk.status_of("1795871609.4") == []
    assert worker.stats.answers["OK"] == 1
    assert worker.stats.failures == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unusable_uniqueid_is_never_used_as_channel(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("SIP/evil-0001", "79170415564")
        await asterisk.user_event("1795871609.6", "79170415564")
        await asterisk.wait(lambda: asterisk.status_of("1795871609.6") == ["OK"])
    assert worker.stats.rejected == 1
    assert {a.get("Channel") for a in asterisk.actions if a.name == "setvar"} == {"1795871609.6"}


async def test_many_events_at_once_each_answered(asterisk: FakeAsterisk, engine: LookupEngine) -> None:
    ids = [f"1795871700.{n}" for n in range(200)]
    async with start_worker(worker_settings(asterisk.port, concurrency=16), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asyncio.gather(*(asterisk.user_event(uid, "79000000001") for uid in ids))
        await until(lambda: worker.stats.answers["OK"] == len(ids))
    assert all(asterisk.status_of(uid) == ["OK"] for uid in ids)
    assert all(asterisk.setvars(uid)[-1] == ("NUM_STATUS", "OK") for uid in ids)


async def test_health_and_metrics(asterisk: FakeAsterisk, engine: LookupEngine) -> None:
    async with start_worker(worker_settings(asterisk.port, fastagi=True), engine, None) as worker:
        assert worker.health()["ok"] is False or asterisk.logins_ok == 1
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.7", "79170415564")
        await until(lambda: worker.stats.answers["OK"] == 1)
        assert worker.fastagi is not None
        await asterisk_side(worker.fastagi.port, ["79000000000"])
        health = worker.health()
        registry = CollectorRegistry()
        registry.register(worker)
        metrics = generate_latest(registry).decode()

    assert health["ok"] is True
    assert health["ami"] == [
        {
            "server": f"127.0.0.1:{asterisk.port}",
            "state": "connected",
            "connected_for": health["ami"][0]["connected_for"],  # type: ignore[index]
            "reconnects": 0,
            "login_failures": 0,
            "dropped_actions": 0,
            "last_error": "",
        }
    ]
    assert health["answers"] == {"OK": 1}
    assert health["fastagi"] == {"listening": True, "sessions": 1, "answers": {"OK": 1}, "aborted": 0}
    assert sample(metrics, "numlookup_ami_events_total") == 1
    assert sample(metrics, "numlookup_ami_answers_total", status="OK") == 1
    assert sample(metrics, "numlookup_ami_unanswered_total", reason="hangups") == 0
    assert sample(metrics, "numlookup_ami_connected", server=f"127.0.0.1:{asterisk.port}") == 1
    assert sample(metrics, "numlookup_ami_reconnects_total", server=f"127.0.0.1:{asterisk.port}") == 0
    assert sample(metrics, "numlookup_ami_answer_seconds_count") == 1
    assert sample(metrics, "numlookup_ami_answer_seconds_bucket", le="+Inf") == 1
    assert sample(metrics, "numlookup_ami_answer_seconds_bucket", le="1") == 1  # spelled as it always was
    assert sample(metrics, "numlookup_fastagi_sessions_total") == 1
    assert sample(metrics, "numlookup_fastagi_answers_total", status="OK") == 1
    assert series(metrics) == AMI_SERIES  # every series a dashboard relies on, named and labelled as always


async def test_serve_runs_until_stopped(asterisk: FakeAsterisk, data_dir: Path) -> None:
    """``numlookup worker``'s coroutine: opens the engine on the data dir, answers, stops on request."""
    settings = worker_settings(asterisk.port, fastagi=True).model_copy(update={"data_dir": data_dir})
    stop = asyncio.Event()
    served = asyncio.create_task(serve_worker(settings, stop))
    await asterisk.wait(lambda: asterisk.logins_ok == 1)
    await asterisk.user_event("1795871609.8", "79170415564")
    await asterisk.wait(lambda: asterisk.status_of("1795871609.8") == ["OK"])
    stop.set()
    async with asyncio.timeout(5):
        await served
    await asterisk.wait(lambda: not asterisk._writers)  # logged out: the session is gone


async def test_worker_on_an_empty_data_dir_answers_from_the_bundled_snapshot(
    asterisk: FakeAsterisk, tmp_path: Path
) -> None:
    """``numlookup worker`` on a fresh machine: no dataset, no portal, yet an operator and a region."""
    settings = worker_settings(asterisk.port).model_copy(update={"data_dir": tmp_path / "data"})
    settings = settings.model_copy(
        update={"data": settings.data.model_copy(update={"fetch_on_start": False})}
    )
    stop = asyncio.Event()
    served = asyncio.create_task(serve_worker(settings, stop))
    try:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.9", "79170415564")
        await asterisk.wait(lambda: asterisk.status_of("1795871609.9") == ["OK"])
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await served
    answer = dict(asterisk.setvars("1795871609.9"))
    assert (answer["NUM_OPERATOR"], answer["NUM_REGION"]) == ("МТС", "Республика Башкортостан")


def test_worker_command_is_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["worker"])
    assert args.handler is cmd_worker
