"""FastAGI over a real socket, as Asterisk drives it (tests/realdata/ami/fastagi-session.txt)."""

from __future__ import annotations

import asyncio
import time

import pytest

from worker.answer.dialplan import variables
from worker.asterisk.fastagi import FastAgiServer, quote, read_headers
from worker.asterisk.stats import HandlerStats
from worker.errors import ConfigError
from worker.lookup.engine import LookupEngine
from worker.settings import FastAgiSettings

HEADERS = (
    "agi_network: yes\nagi_network_script: num\nagi_request: agi://127.0.0.1:4573/num\n"
    "agi_channel: Local/agi@test-00000001;2\nagi_language: en\nagi_type: Local\nagi_uniqueid: 1795872080.3\n"
    "agi_version: 22.10.1\nagi_callerid: unknown\nagi_calleridname: unknown\nagi_callingpres: 67\n"
    "agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n"
    "agi_context: test\nagi_extension: agi\nagi_priority: 2\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140271291315904\n"
)


class Tracked(FastAgiServer):
    """The real server; lets a test wait until a session has completely finished."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.finished = asyncio.Queue[float]()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await super().handle(reader, writer)
        self.finished.put_nowait(time.monotonic())


@pytest.fixture
async def agi(engine: LookupEngine) -> Tracked:
    server = Tracked(engine, HandlerStats(), FastAgiSettings(port=0, timeout=5))
    await server.start()
    yield server
    await server.close()


async def asterisk_side(port: int, args: list[str], replies: dict[int, bytes] | None = None) -> list[str]:
    """Play Asterisk: send the header block, answer each command ``200 result=1``; the commands sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    arg_lines = "".join(f"agi_arg_{n}: {arg}\n" for n, arg in enumerate(args, 1))
    writer.write((HEADERS + arg_lines + "\n").encode())
    commands: list[str] = []
    while line := await reader.readline():
        commands.append(line.decode())
        writer.write((replies or {}).get(len(commands), b"200 result=1\n"))
    writer.close()
    await writer.wait_closed()
    return commands


async def fastagi_session(engine: LookupEngine, args: list[str]) -> list[str]:
    """The commands a FastAGI server of its own on ``engine`` sends for one session with ``args``."""
    server = FastAgiServer(engine, HandlerStats(), FastAgiSettings(port=0, timeout=5))
    await server.start()
    try:
        return await asterisk_side(server.port, args)
    finally:
        await server.close()


async def test_full_session_sets_the_variables(agi: Tracked, engine: LookupEngine) -> None:
    commands = await asterisk_side(agi.port, ["79261234567"])
    expected = variables(engine.lookup_now("79261234567"), clock=engine.clock)
    assert commands == [f"SET VARIABLE {name} {quote(value)}\n" for name, value in expected]
    assert commands[-1] == 'SET VARIABLE NUM_STATUS "OK"\n'
    assert 'SET VARIABLE NUM_OPERATOR "МТС"\n' in commands
    assert 'SET VARIABLE NUM_OLD_OPERATOR "МегаФон"\n' in commands
    assert agi.stats.agi_answers["OK"] == 1


async def test_version_and_variable_arguments(agi: Tracked, engine: LookupEngine) -> None:
    commands = await asterisk_side(agi.port, ["+79261234567", "2", "myvar"])
    expected = variables(engine.lookup_now("79261234567"), version=2, var="myvar", clock=engine.clock)
    assert commands == [f"SET VARIABLE {name} {quote(value)}\n" for name, value in expected]


async def test_json_value_is_escaped_for_agi(agi: Tracked) -> None:
    commands = await asterisk_side(agi.port, ["79170415564"])
    var = next(c for c in commands if c.startswith("SET VARIABLE var "))
    assert var.startswith('SET VARIABLE var "{\\"code\\": \\"917\\"')
    assert var.count("\n") == 1


async def test_hostile_arguments(agi: Tracked) -> None:
    commands = await asterisk_side(agi.port, ['1"; EXEC System rm', "9", "bad name"])
    assert commands == ['SET VARIABLE var ""\n', 'SET VARIABLE NUM_STATUS "INVALID"\n']


def test_quote_keeps_one_line_and_escapes() -> None:
    assert quote('a"b\\c\r\nHANGUP') == '"a\\"b\\\\cHANGUP"'


async def test_eof_before_headers_returns_at_once(agi: Tracked) -> None:
    for partial in (b"", b"agi_network: yes\nagi_network_scr"):
        started = time.monotonic()
        _, writer = await asyncio.open_connection("127.0.0.1", agi.port)
        writer.write(partial)
        writer.close()
        await writer.wait_closed()
        async with asyncio.timeout(1):
            finished = await agi.finished.get()
        assert finished - started < 0.5
    assert agi.stats.agi_aborted == 2
    assert agi.stats.agi_sessions == 2


async def test_read_headers_at_eof_does_not_spin() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"agi_network: yes\n")
    reader.feed_eof()
    async with asyncio.timeout(1):
        assert await read_headers(reader) is None


async def test_hangup_mid_session_stops_setting(agi: Tracked) -> None:
    commands = await asterisk_side(agi.port, ["79170415564"], replies={2: b"HANGUP\n"})
    assert len(commands) == 2
    assert agi.stats.agi_aborted == 1
    assert agi.stats.agi_answers["OK"] == 0


async def test_unknown_script_is_refused(agi: Tracked) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    writer.write(HEADERS.replace("agi_network_script: num", "agi_network_script: other").encode() + b"\n")
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_port_in_use_is_a_clear_error(agi: Tracked, engine: LookupEngine) -> None:
    second = FastAgiServer(engine, HandlerStats(), FastAgiSettings(port=agi.port))
    with pytest.raises(ConfigError, match=f"FastAGI cannot listen on 127.0.0.1:{agi.port}"):
        await second.start()
