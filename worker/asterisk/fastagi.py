"""FastAGI: ``AGI(agi://host:4573/num,NUMBER[,VERSION[,VARIABLE]])`` sets the same variables as the AMI
worker, then returns — the blocking variant for dialplans that would rather wait a millisecond than poll.

Written on asyncio streams rather than panoramisk's ``fast_agi.Application``, whose handler spins at 100 %
CPU when a client closes before sending the AGI headers and whose sync routes crash on Python 3.11+. Here a
session reads at most ``MAX_HEADERS`` lines of at most ``MAX_LINE`` bytes, returns at EOF, and the whole
session is bounded by ``FastAgiSettings.timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from worker.answer.dialplan import VARIABLE_NAME, one_line
from worker.asterisk.request import Request, answer_variables
from worker.asterisk.stats import HandlerStats
from worker.errors import ConfigError
from worker.lookup.engine import LookupEngine
from worker.settings import FastAgiSettings

log = logging.getLogger(__name__)

SCRIPTS: Final = frozenset({"num"})  # agi://host:port/num
MAX_HEADERS: Final = 128
MAX_LINE: Final = 4096


def quote(value: str) -> str:
    """An AGI argument: one line, in double quotes, ``\\`` and ``"`` escaped."""
    return '"' + one_line(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def read_headers(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The ``agi_*`` block up to its blank line; ``None`` when the peer closed (or sent too much) first."""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        try:
            line = await reader.readline()
        except ValueError:  # a line longer than MAX_LINE
            return None
        if not line.endswith(b"\n"):  # EOF, possibly mid-line
            return None
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            return headers
        name, sep, value = text.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return None


class FastAgiServer:
    def __init__(self, engine: LookupEngine, stats: HandlerStats, settings: FastAgiSettings) -> None:
        self.engine = engine
        self.stats = stats
        self.settings = settings
        self._server: asyncio.Server | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def port(self) -> int:
        assert self._server is not None
        assert self._server.sockets
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self.handle, self.settings.host, self.settings.port, limit=MAX_LINE
            )
        except OSError as error:
            raise ConfigError(
                f"FastAGI cannot listen on {self.settings.host}:{self.settings.port}: {error}"
            ) from error
        log.info("FastAGI listening on %s:%d", self.settings.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.agi_sessions += 1
        try:
            async with asyncio.timeout(self.settings.timeout):
                await self._session(reader, writer)
        except (TimeoutError, ConnectionError, ValueError) as error:
            self.stats.agi_aborted += 1
            log.info("FastAGI session from %s cut short: %r", writer.get_extra_info("peername"), error)
        except Exception:  # a task boundary: log it, never leave the socket open
            self.stats.agi_aborted += 1
            log.exception("FastAGI session failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = await read_headers(reader)
        if headers is None:
            self.stats.agi_aborted += 1
            return
        script = headers.get("agi_network_script", "").partition("?")[0].strip("/")
        if script not in SCRIPTS:
            self.stats.agi_aborted += 1
            log.warning(
                "FastAGI: no script %r (known: %s)", one_line(script)[:80], ", ".join(sorted(SCRIPTS))
            )
            return
        request = Request.from_options(
            headers.get("agi_arg_1", ""), headers.get("agi_arg_2", ""), headers.get("agi_arg_3", "")
        )
        pairs = await answer_variables(self.engine, request)
        for name, value in pairs:
            assert VARIABLE_NAME.fullmatch(name), name
            writer.write(f"SET VARIABLE {name} {quote(value)}\n".encode())
            reply = await reader.readline()
            if not reply.startswith(b"200 result=1"):
                self.stats.agi_aborted += 1
                log.info("FastAGI: SET VARIABLE %s answered %r; stopping", name, reply[:80])
                return
        self.stats.agi_answers[pairs[-1][1]] += 1
