"""panoramisk's traps, each reproduced over a real socket: drops, restarts, a frozen Asterisk, a refused
Login, stale actions across a reconnect, a UTF-8 character split across two TCP writes."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.ami.conftest import until, worker_settings
from tests.ami.fake_asterisk import FakeAsterisk, user_event_text
from worker.asterisk.ami import AmiClient, AmiEvent
from worker.asterisk.protocol import ClientStats, WireProtocol
from worker.asterisk.worker import start_worker
from worker.lookup.engine import LookupEngine
from worker.settings import AmiSettings


async def answered(asterisk: FakeAsterisk, uniqueid: str) -> None:
    await asterisk.user_event(uniqueid, "79170415564")
    await asterisk.wait(lambda: asterisk.status_of(uniqueid) == ["OK"])


async def test_reconnects_after_the_server_drops_the_connection(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await answered(asterisk, "1795871800.1")
        asterisk.drop()
        await asterisk.wait(lambda: asterisk.logins_ok == 2)
        await answered(asterisk, "1795871800.2")
        assert worker.clients[0].stats.reconnects == 1


async def test_reconnects_after_asterisk_restarts(asterisk: FakeAsterisk, engine: LookupEngine) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.stop()
        await until(lambda: worker.clients[0].state != "connected")
        assert worker.health()["ok"] is False
        await until(lambda: worker.clients[0].stats.last_error != "")  # refused while it is down
        await asterisk.start()  # same port
        await asterisk.wait(lambda: asterisk.logins_ok == 2)
        await answered(asterisk, "1795871800.3")
        assert worker.clients[0].state == "connected"


async def test_frozen_asterisk_is_detected_by_the_watchdog(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    settings = worker_settings(asterisk.port, ping_interval=0.3, ping_timeout=0.3, login_timeout=0.3)
    async with start_worker(settings, engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        asterisk.frozen = True  # the socket stays open; nothing is answered any more
        frozen_at = time.monotonic()
        logins = [a for a in asterisk.actions if a.name == "login"]
        await asterisk.wait(lambda: sum(a.name == "login" for a in asterisk.actions) == 2)  # came back
        detected = time.monotonic() - frozen_at
        assert len(logins) == 1
        assert worker.clients[0].stats.watchdog_timeouts >= 1
        assert detected < 0.3 + 0.3 + 1.0
        asterisk.frozen = False
        await asterisk.wait(lambda: asterisk.logins_ok >= 2)
        await answered(asterisk, "1795871800.4")


def test_default_watchdog_notices_a_freeze_within_five_seconds() -> None:
    defaults = AmiSettings()  # worst case: frozen right after a Pong → one interval, then the timeout
    assert defaults.ping_interval + defaults.ping_timeout < 5


async def test_refused_login_is_logged_and_retried_with_backoff(
    asterisk: FakeAsterisk, engine: LookupEngine, caplog: pytest.LogCaptureFixture
) -> None:
    asterisk.secret = "another-secret"
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: len(asterisk.login_times) >= 4)
        client = worker.clients[0]
        assert client.state == "login_failed"
        assert worker.health()["ok"] is False
        gaps = [b - a for a, b in zip(asterisk.login_times, asterisk.login_times[1:], strict=False)]
        assert gaps[2] > gaps[0]  # backing off (0.05 → 0.1 → 0.2, ±20 %)
        refused = [r for r in caplog.records if r.levelno == logging.ERROR and "refused" in r.getMessage()]
        assert refused
        assert "Authentication failed" in refused[0].getMessage()
        assert client.stats.login_failures >= 3

        asterisk.secret = "worker-secret"  # the admin fixes manager.conf
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await answered(asterisk, "1795871800.5")
        assert client.state == "connected"


class GatedEngine:
    """An engine whose lookups wait until the test opens the gate."""

    def __init__(self, engine: LookupEngine) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.gate = asyncio.Event()
        self.waiting = 0

    @property
    def dataset(self) -> object:
        return self.engine.dataset

    async def lookup(self, raw: str) -> object:
        self.waiting += 1
        await self.gate.wait()
        return await self.engine.lookup(raw)

    async def lookup_staged(self, raw: str, *, deadline: float | None = None) -> tuple[object, None]:
        return await self.lookup(raw), None


async def test_answer_for_a_previous_session_is_dropped_not_replayed(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    gated = GatedEngine(engine)
    async with start_worker(worker_settings(asterisk.port), gated, None) as worker:  # type: ignore[arg-type]
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871800.6", "79170415564")
        await until(lambda: gated.waiting == 1)
        asterisk.drop()  # Asterisk restarts while the lookup is in flight
        await asterisk.wait(lambda: asterisk.logins_ok == 2)
        gated.gate.set()
        await until(lambda: worker.stats.stale == 1)
        await answered(asterisk, "1795871800.7")

    assert asterisk.setvars("1795871800.6") == []
    assert worker.clients[0].stats.dropped_actions == 1


async def test_actions_pending_at_a_disconnect_fail_and_leave_no_trace(asterisk: FakeAsterisk) -> None:
    client = AmiClient(
        worker_settings(asterisk.port).ami.all_servers()[0], worker_settings(asterisk.port).ami
    )
    runner = asyncio.create_task(client.run())
    try:
        await until(lambda: client.state == "connected")
        asterisk.frozen = True
        asterisk.channels.add("1795871800.8")
        pending = asyncio.create_task(
            client.setvars("1795871800.8", [("NUM_STATUS", "OK")], generation=client.generation)
        )
        await asterisk.wait(lambda: any(a.name == "setvar" for a in asterisk.actions))
        asterisk.frozen = False
        asterisk.drop()
        with pytest.raises(Exception, match="connection lost"):
            await pending
        await asterisk.wait(lambda: asterisk.logins_ok == 2)
        await until(lambda: client.state == "connected")
        assert [a.name for a in asterisk.actions].count("setvar") == 1  # never replayed
        assert client._protocol is not None
        assert client._protocol.responses == {}
        assert client._protocol.setvar_futures == {}
        assert client.stats.dropped_actions == 1
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_timed_out_actions_leave_the_response_table(asterisk: FakeAsterisk) -> None:
    settings = worker_settings(asterisk.port).ami
    client = AmiClient(settings.all_servers()[0], settings)
    runner = asyncio.create_task(client.run())
    try:
        await until(lambda: client.state == "connected")
        asterisk.frozen = True
        asterisk.channels.add("1795871800.9")
        for _ in range(5):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    client.setvars("1795871800.9", [("a", "b")], generation=client.generation), 0.02
                )
        assert client._protocol is not None
        assert client._protocol.responses == {}
        assert client._protocol.setvar_futures == {}
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_utf8_character_split_across_two_tcp_writes(asterisk: FakeAsterisk) -> None:
    settings = worker_settings(asterisk.port).ami
    client = AmiClient(settings.all_servers()[0], settings)
    seen: list[AmiEvent] = []
    got = asyncio.Event()

    async def record(event: AmiEvent) -> None:
        seen.append(event)
        got.set()

    client.on("UserEvent", record)
    runner = asyncio.create_task(client.run())
    try:
        await until(lambda: client.state == "connected")
        data = user_event_text("1795871800.10", "79170415564", name="Иван Петров").encode()
        cut = data.index("Иван".encode()) + 1  # inside the two bytes of "И"
        await asterisk.broadcast(data[:cut])
        await asyncio.sleep(0.05)  # not a wait: keeps the halves in two TCP segments, so two reads
        await asterisk.broadcast(data[cut:])
        async with asyncio.timeout(5):
            await got.wait()
        assert seen[0].get("name") == "Иван Петров"
        assert seen[0].get("number") == "79170415564"
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def test_utf8_split_byte_by_byte_in_the_protocol() -> None:
    events: list[object] = []

    class Manager:
        @staticmethod
        def dispatch(message: object) -> None:
            events.append(message)

    protocol = WireProtocol(Manager(), "test", ClientStats())
    protocol.version = "11.0.0"
    protocol.factory = Manager()
    protocol.responses = {}
    for byte in "Event: UserEvent\r\nUserEvent: Num\r\nname: Ёжик 🦔\r\n\r\n".encode():
        protocol.data_received(bytes([byte]))
    assert [e["name"] for e in events] == ["Ёжик 🦔"]  # type: ignore[index]


async def test_one_worker_several_asterisks(engine: LookupEngine) -> None:
    first, second = FakeAsterisk(channels=set()), FakeAsterisk(channels=set())
    await first.start()
    await second.start()
    try:
        async with start_worker(worker_settings(first.port, second.port), engine, None) as worker:
            await first.wait(lambda: first.logins_ok == 1)
            await second.wait(lambda: second.logins_ok == 1)
            await answered(first, "1795871801.1")
            await answered(second, "1795871801.1")  # the same Uniqueid on another Asterisk is another call
            await second.stop()  # one Asterisk down: the other keeps being served
            await until(lambda: worker.clients[1].state != "connected")
            await answered(first, "1795871801.2")
            health = worker.health()
            states = [server["state"] for server in health["ami"]]  # type: ignore[attr-defined]
            assert states[0] == "connected"
            assert states[1] in ("connecting", "disconnected")
            assert health["ok"] is False
    finally:
        await first.stop()
        await second.stop()


async def test_event_that_outlives_its_timeout_is_counted(
    asterisk: FakeAsterisk, engine: LookupEngine
) -> None:
    async with start_worker(worker_settings(asterisk.port, timeout=0.2), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        asterisk.frozen = True  # Setvars are read but never answered
        await asterisk.user_event("1795871801.3", "79170415564")
        await until(lambda: worker.stats.timeouts == 1)
        protocol = worker.clients[0]._protocol
        assert protocol is not None
        assert protocol.setvar_futures == {}
        assert worker.stats.answers == {}
