"""An AMI server over a real socket that speaks as the Asterisk 22 captures in tests/realdata/ami/ show.

It reads actions the way Asterisk's manager does (lines end at LF, a trailing CR is dropped, an empty line
ends the action), so anything a client lets through as a line break shows up here as an extra header or an
extra action — exactly what an injection would do to a real Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
FULLY_BOOTED = (
    "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 8\r\nLastReload: 8\r\n"
    "Status: Fully Booted\r\n\r\n"
)


@dataclass
class Received:
    """One action as Asterisk would parse it: headers in order (a repeated name appears twice)."""

    session: int
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def name(self) -> str:
        return (self.get("Action") or "").lower()


@dataclass
class FakeAsterisk:
    username: str = "worker"
    secret: str = "worker-secret"
    port: int = 0
    channels: set[str] = field(default_factory=set)  # live Uniqueids; Setvar elsewhere: No such channel
    frozen: bool = False  # read and record, never answer (a hung Asterisk)
    actions: list[Received] = field(default_factory=list)
    login_times: list[float] = field(default_factory=list)
    logins_ok: int = 0
    sessions: int = 0
    _writers: dict[int, asyncio.StreamWriter] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Crash: stop listening and cut every session."""
        if self._server is not None:
            self._server.close()
            self.drop()
            await self._server.wait_closed()
            self._server = None

    def drop(self) -> None:
        for writer in list(self._writers.values()):
            writer.transport.abort()
        self._writers.clear()

    async def wait(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def setvars(self, channel: str | None = None) -> list[tuple[str, str]]:
        """(variable, value) of every Setvar received, optionally only those on ``channel``."""
        return [
            (action.get("Variable") or "", action.get("Value") or "")
            for action in self.actions
            if action.name == "setvar" and (channel is None or action.get("Channel") == channel)
        ]

    def status_of(self, channel: str) -> list[str]:
        return [value for name, value in self.setvars(channel) if name == "NUM_STATUS"]

    async def user_event(self, uniqueid: str, number: str, **extra: str) -> None:
        """Raise ``UserEvent(Num,number: ...)`` on a live channel, to every logged-in session."""
        self.channels.add(uniqueid)
        await self.broadcast(user_event_text(uniqueid, number, **extra).encode())

    async def broadcast(self, data: bytes) -> None:
        for writer in list(self._writers.values()):
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        session = self.sessions
        writer.write(BANNER)
        try:
            while (headers := await read_action(reader)) is not None:
                action = Received(session, headers)
                self.actions.append(action)
                reply = None if self.frozen else self._reply(action, session, writer)
                if reply is not None:
                    writer.write(reply.encode())
                    await writer.drain()
                await self._notify()
                if reply is not None and ("Authentication failed" in reply or "Goodbye" in reply):
                    break
        except ConnectionError:
            pass
        finally:
            self._writers.pop(session, None)
            writer.transport.abort()
            await self._notify()

    def _reply(self, action: Received, session: int, writer: asyncio.StreamWriter) -> str:
        action_id = action.get("ActionID") or ""
        head = f"ActionID: {action_id}\r\n"
        if action.name == "login":
            self.login_times.append(time.monotonic())
            if action.get("Username") != self.username or action.get("Secret") != self.secret:
                return f"Response: Error\r\n{head}Message: Authentication failed\r\n\r\n"
            self.logins_ok += 1
            self._writers[session] = writer
            return f"Response: Success\r\n{head}Message: Authentication accepted\r\n\r\n{FULLY_BOOTED}"
        if session not in self._writers:
            return f"Response: Error\r\n{head}Message: Permission denied\r\n\r\n"
        if action.name == "ping":
            return f"Response: Success\r\n{head}Ping: Pong\r\nTimestamp: {time.time():.6f}\r\n\r\n"
        if action.name == "setvar":
            if action.get("Channel") not in self.channels:
                return f"Response: Error\r\n{head}Message: No such channel\r\n\r\n"
            return f"Response: Success\r\n{head}Message: Variable Set\r\n\r\n"
        if action.name == "logoff":
            return f"Response: Goodbye\r\n{head}Message: Thanks for all the fish.\r\n\r\n"
        return f"Response: Error\r\n{head}Message: Invalid/unknown command\r\n\r\n"


async def read_action(reader: asyncio.StreamReader) -> list[tuple[str, str]] | None:
    """One action, split the way Asterisk's manager splits it; ``None`` at EOF."""
    headers: list[tuple[str, str]] = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode("utf-8", "replace").rstrip("\n").rstrip("\r")
        if not text:
            if headers:
                return headers
            continue
        name, _, value = text.partition(":")
        headers.append((name.strip(), value.strip()))


def user_event_text(uniqueid: str, number: str, **extra: str) -> str:
    """The UserEvent exactly as the capture shows it, with optional extra custom headers at the end."""
    lines = [
        "Event: UserEvent",
        "Privilege: user,all",
        "Channel: Local/s@test-00000000;2",
        "ChannelState: 4",
        "ChannelStateDesc: Ring",
        "CallerIDNum: <unknown>",
        "CallerIDName: <unknown>",
        "ConnectedLineNum: <unknown>",
        "ConnectedLineName: <unknown>",
        "Language: en",
        "AccountCode: ",
        "Context: test",
        "Exten: s",
        "Priority: 6",
        f"Uniqueid: {uniqueid}",
        f"Linkedid: {uniqueid.rpartition('.')[0]}.0",
        "UserEvent: Num",
        f"number: {number}",
        *(f"{name}: {value}" for name, value in extra.items()),
    ]
    return "\r\n".join(lines) + "\r\n\r\n"
