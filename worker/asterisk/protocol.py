"""The AMI wire protocol: panoramisk's ``AMIProtocol`` with the fixes :mod:`worker.asterisk.ami` relies on.

- one incremental UTF-8 decoder per connection, so a character split across two reads survives;
- no replay queue: actions pending when the connection goes fail with :class:`AmiUnavailable` (counted as
  dropped) instead of being re-sent after the next login into whatever call then holds the channel;
- an action cancelled by a timeout leaves the response table;
- the Login reply is recognised while parsing, so no event read after it can see a half-open session;
- Setvar, eight per event, skips panoramisk's per-action objects (see :meth:`WireProtocol.send_setvars`).
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from worker.errors import AmiUnavailable

log = logging.getLogger(__name__)

EOM: Final = "\r\n\r\n"
MAX_PENDING_TEXT: Final = 1 << 20  # a "message" this long without an end is not AMI: drop the session
_action_ids = itertools.count(1)


@dataclass(slots=True)
class ClientStats:
    reconnects: int = 0  # sessions established after the first
    login_failures: int = 0
    dropped_actions: int = 0  # pending at a disconnect, or meant for a previous session
    watchdog_timeouts: int = 0
    sessions: int = 0
    task_failures: int = 0
    last_error: str = ""
    connected_since: float | None = field(default=None)  # loop.time() of the current session's Login


class WireProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol with our decoding, response-table hygiene and no replay queue."""

    version: str | None
    closed: bool

    def __init__(self, manager: Any, name: str, stats: ClientStats) -> None:
        super().__init__()
        self._manager = manager
        self._name = name
        self._stats = stats
        self.lost = asyncio.Event()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._text = ""
        self.login_id: str | None = None
        # Setvar is the hot path (eight per event): its replies skip panoramisk's case-insensitive Message
        # and Action objects (most of the worker's CPU time in the benchmark) and are matched here by ID.
        self.setvar_futures: dict[str, asyncio.Future[dict[str, str]]] = {}
        # Set while parsing the Login response, before any later event in the same read is dispatched.
        self.logged_in = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self._manager
        self.encoding = "utf-8"
        self.log = log

    def data_received(self, data: bytes) -> None:
        text = self._text + self._decoder.decode(data)
        if self.version is None:
            banner, eol, rest = text.partition("\r\n")
            if not eol:
                self._text = text
                return
            self.version = banner.partition("/")[2].strip()
            text = rest
        *messages, self._text = text.split(EOM)
        if len(self._text) > MAX_PENDING_TEXT:
            log.error(
                "AMI %s: %d bytes without a message end; dropping the session",
                self._name,
                len(self._text),
            )
            self.abort()
            return
        pending = self.setvar_futures
        for raw in messages:
            raw = raw.strip()
            if pending and raw.startswith("Response:"):
                headers = dict(line.split(": ", 1) for line in raw.split("\r\n") if ": " in line)
                future = pending.pop(headers.get("ActionID", ""), None)
                if future is not None:
                    if not future.done():
                        future.set_result(headers)
                    continue
            message = Message.from_line(raw)
            if message is not None:
                self.handle_message(message)

    def handle_message(self, message: Message) -> None:
        if message.action_id is not None and message.action_id == self.login_id:
            self.logged_in = bool(message.success)
        super().handle_message(message)

    def send_actions(self, actions: Iterable[Action]) -> list[asyncio.Future[Any]]:
        """Register and write ``actions`` in one write; their futures resolve with the responses."""
        if self.closed:
            raise AmiUnavailable(self._name, "not connected")
        chunks: list[str] = []
        futures: list[asyncio.Future[Any]] = []
        for action in actions:
            key = action.id
            self.responses[key] = action
            action.future.add_done_callback(lambda _, key=key: self.responses.pop(key, None))
            chunks.append(str(action))
            futures.append(action.future)
        self.transport.write("".join(chunks).encode("utf-8"))
        return futures

    def send_setvars(
        self, channel: str, pairs: Iterable[tuple[str, str]]
    ) -> tuple[list[str], list[asyncio.Future[dict[str, str]]]]:
        """Write one Setvar per pair (already one-line) in one write; (ActionIDs, futures of the replies)."""
        if self.closed:
            raise AmiUnavailable(self._name, "not connected")
        loop = asyncio.get_running_loop()
        ids: list[str] = []
        futures: list[asyncio.Future[dict[str, str]]] = []
        chunks: list[str] = []
        for name, value in pairs:
            action_id = f"numlookup-{next(_action_ids)}"
            future: asyncio.Future[dict[str, str]] = loop.create_future()
            self.setvar_futures[action_id] = future
            ids.append(action_id)
            futures.append(future)
            chunks.append(
                f"Action: Setvar\r\nActionID: {action_id}\r\nChannel: {channel}\r\n"
                f"Variable: {name}\r\nValue: {value}\r\n\r\n"
            )
        self.transport.write("".join(chunks).encode("utf-8"))
        return ids, futures

    def send(self, data: Mapping[str, str], as_list: bool = False) -> asyncio.Future[Any]:
        return self.send_actions([Action(dict(data), as_list=as_list)])[0]

    def abort(self) -> None:
        if not self.closed:
            self.transport.abort()

    def close(self) -> None:
        pending = [action.future for action in {id(a): a for a in self.responses.values()}.values()]
        pending += self.setvar_futures.values()
        self.responses.clear()
        self.setvar_futures.clear()
        dropped = 0
        for future in pending:
            if not future.done():
                future.set_exception(AmiUnavailable(self._name, "connection lost"))
                future.exception()  # retrieved: nobody may be awaiting it any more
                dropped += 1
        self._stats.dropped_actions += dropped
        if not self.closed:
            self.closed = True
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        if not self.lost.is_set():
            self.lost.set()
            self.factory.connection_lost(exc)
