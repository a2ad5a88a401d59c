"""The AMI adapter: the only module that imports panoramisk's Manager.

:class:`AmiClient` keeps one logged-in session to one Asterisk and owns its whole life: connect, Login, a
watchdog, back-off, reconnect. It reuses panoramisk's parsing (``Message``), actions (``Action``), response
matching (``AMIProtocol.handle_message``) and event routing (``Manager.register_event``), and replaces the
parts that misbehave in panoramisk 1.4:

- its keep-alive Ping never notices a silent connection → our watchdog pings with a timeout and aborts the
  transport, so a frozen Asterisk is noticed within ``ping_interval + ping_timeout`` seconds;
- actions pending at a disconnect are queued and replayed after the next login (into whatever call holds
  that channel now) → they fail with :class:`AmiUnavailable` instead, and an action meant for an older
  session (``generation``) is refused before it reaches the wire; both are counted as dropped;
- a failed Login is silent and ``authenticated`` stays true after a disconnect → :attr:`AmiClient.state` is
  tracked here, a refused Login is logged as an error, and retries back off exponentially;
- ``dispatch()`` keeps no reference to the tasks it starts → we keep them and log their failures;
- actions cancelled by a timeout stay in its response table forever → removed when their future is done;
- a UTF-8 character split across two reads is dropped (each read is decoded alone) → incremental decoder.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk.actions import Action
from panoramisk.manager import Manager
from panoramisk.message import Message

from worker.answer.dialplan import VARIABLE_NAME, one_line
from worker.asterisk.protocol import ClientStats, WireProtocol
from worker.errors import AmiError, AmiLoginFailed, AmiUnavailable
from worker.settings import AmiServer, AmiSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """An event as the handlers see it: case-insensitive headers, the session it came on, when it arrived."""

    client: AmiClient
    generation: int
    headers: Mapping[str, Any]
    received: float  # loop.time()

    def get(self, name: str, default: str = "") -> str:
        value = self.headers.get(name, default)
        if isinstance(value, list):  # a repeated header: panoramisk gives a list; the first one counts
            value = value[0]
        return str(value)


EventCallback = Callable[[AmiEvent], Awaitable[None]]


class _Manager(Manager):  # type: ignore[misc]
    """Event routing from panoramisk, without its reconnect scheduling, ping or replay of actions."""

    def __init__(self, client: AmiClient) -> None:
        super().__init__(host=client.server.host, port=client.server.port, log=log)
        self.callbacks.clear()  # drops the FullyBooted → send_awaiting_actions replay
        self.patterns.clear()
        self._client = client

    def dispatch(self, event: Message) -> list[str]:
        event.manager = self
        matches = []
        for pattern, regexp in self.patterns:
            if regexp.match(event.event) is not None:
                matches.append(pattern)
                for callback in self.callbacks[pattern]:
                    self._client._spawn(callback(self._client._wrap(event)))
        return matches

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.authenticated = False


class AmiClient:
    """One Asterisk: connected and logged in while :meth:`run` runs, reconnecting for ever."""

    def __init__(self, server: AmiServer, settings: AmiSettings) -> None:
        self.server = server
        self.settings = settings
        self.name = server.label
        self.state = "disconnected"  # connecting | connected | login_failed | disconnected
        self.generation = 0  # bumped for every connection; events carry it, actions must match it
        self.stats = ClientStats()
        self.tasks: set[asyncio.Task[None]] = set()
        self._manager = _Manager(self)
        self._protocol: WireProtocol | None = None

    def on(self, pattern: str, callback: EventCallback) -> None:
        """Run ``callback`` (as its own tracked task) for every event whose name matches ``pattern``."""
        if not any(known == pattern for known, _ in self._manager.patterns):
            self._manager.patterns.append((pattern, re.compile(fnmatch.translate(pattern))))
        self._manager.callbacks[pattern].append(callback)

    async def run(self) -> None:
        """Connect, log in, watch, reconnect with back-off; returns only when cancelled."""
        delay = self.settings.reconnect_min
        try:
            while True:
                try:
                    await self._session()
                    delay = self.settings.reconnect_min
                except AmiLoginFailed as error:
                    self.state = "login_failed"
                    self.stats.login_failures += 1
                    self.stats.last_error = error.reason
                    log.error(
                        "AMI %s: Login as %r refused: %s; retrying in %.1fs",
                        self.name,
                        self.server.username,
                        error.reason,
                        delay,
                    )
                except (OSError, TimeoutError) as error:
                    self.state = "disconnected"
                    self.stats.last_error = f"{type(error).__name__}: {error}"
                    log.warning(
                        "AMI %s: cannot connect (%s); retrying in %.1fs",
                        self.name,
                        self.stats.last_error,
                        delay,
                    )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.settings.reconnect_max)
        finally:
            self.state = "disconnected"
            if self._protocol is not None:
                self._protocol.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        if self.state != "login_failed":  # keep a refused Login visible in /health while retrying
            self.state = "connecting"
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races a result.
        async with asyncio.timeout(self.settings.login_timeout):
            _, protocol = await loop.create_connection(
                lambda: WireProtocol(self._manager, self.name, self.stats), self.server.host, self.server.port
            )
        self._protocol = protocol
        self.generation += 1
        try:
            await self._login(protocol)
            self.stats.sessions += 1
            self.stats.reconnects += self.stats.sessions > 1
            self.stats.connected_since = loop.time()
            self.state = "connected"
            self._manager.authenticated = True
            log.info("AMI %s: logged in as %r (session %d)", self.name, self.server.username, self.generation)
            watchdog = asyncio.create_task(self._watchdog(protocol), name=f"ami-watchdog-{self.name}")
            try:
                await protocol.lost.wait()
            finally:
                watchdog.cancel()
                await asyncio.gather(watchdog, return_exceptions=True)
            log.warning("AMI %s: connection lost; reconnecting", self.name)
        finally:
            self.stats.connected_since = None
            if self.state == "connected":
                self.state = "disconnected"
            protocol.close()

    async def _login(self, protocol: WireProtocol) -> None:
        login = {
            "Action": "Login",
            "Username": one_line(self.server.username),
            "Secret": one_line(self.server.secret.get_secret_value()),
            "Events": "system,user",
        }
        action = Action(login)
        protocol.login_id = action.id
        try:
            async with asyncio.timeout(self.settings.login_timeout):
                response = await protocol.send_actions([action])[0]
        except TimeoutError:
            raise AmiLoginFailed(self.name, f"no answer within {self.settings.login_timeout:g}s") from None
        except AmiUnavailable:
            raise AmiLoginFailed(self.name, "connection closed during Login") from None
        if not response.success:
            raise AmiLoginFailed(self.name, response.get("Message") or response.get("Response") or "refused")

    async def _watchdog(self, protocol: WireProtocol) -> None:
        interval, timeout = self.settings.ping_interval, self.settings.ping_timeout
        while True:
            await asyncio.sleep(interval)
            try:
                async with asyncio.timeout(timeout):
                    await protocol.send({"Action": "Ping"})
            except TimeoutError:
                self.stats.watchdog_timeouts += 1
                log.error("AMI %s: no answer to Ping within %gs; dropping the session", self.name, timeout)
                protocol.abort()
                return
            except AmiUnavailable:
                return

    def _wrap(self, event: Message) -> AmiEvent:
        return AmiEvent(self, self.generation, event, asyncio.get_running_loop().time())

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.task_failures += 1
            log.error("AMI %s: event handler failed", self.name, exc_info=task.exception())

    def _live(self, generation: int) -> WireProtocol:
        protocol = self._protocol
        if protocol is None or protocol.closed or not protocol.logged_in:
            self.stats.dropped_actions += 1
            raise AmiUnavailable(self.name, "not connected")
        if generation != self.generation:
            self.stats.dropped_actions += 1
            raise AmiUnavailable(self.name, "stale action from a previous session dropped")
        return protocol

    async def setvars(self, channel: str, pairs: Iterable[tuple[str, str]], *, generation: int) -> None:
        """Set each variable on ``channel`` (written in one go, in order); raises the first error.

        ``generation`` is the session the request belongs to (:attr:`AmiEvent.generation`): after a
        reconnect the channel may name another call, so the actions are dropped instead.
        """
        safe = []
        for name, value in pairs:
            if VARIABLE_NAME.fullmatch(name) is None:
                raise ValueError(f"not a variable name: {name!r}")
            safe.append((name, one_line(value)))
        if not safe:
            return
        protocol = self._live(generation)
        ids, futures = protocol.send_setvars(one_line(channel), safe)
        try:
            await futures[-1]  # Asterisk runs one session's actions in order: the last reply comes last
            replies = [await future for future in futures]
        finally:
            for action_id in ids:
                protocol.setvar_futures.pop(action_id, None)
        for reply in replies:
            if reply.get("Response") != "Success":
                raise AmiError("Setvar", reply)
