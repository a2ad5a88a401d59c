"""The panoramisk internals :mod:`worker.asterisk.ami` and :mod:`worker.asterisk.protocol` rely on.

Both subclass panoramisk's ``Manager`` and ``AMIProtocol`` and reach past their public API (see those modules'
docstrings for why). ``pyproject.toml`` pins panoramisk below the next minor release; when the pin is raised,
these tests say exactly which assumption a new release broke, instead of a worker that quietly stops
answering.
"""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path
from unittest import mock

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pinned_range() -> str:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(item for item in dependencies if item.startswith("panoramisk"))
    return spec.removeprefix("panoramisk")


def test_the_installed_release_is_the_pinned_one() -> None:
    assert pinned_range() == ">=1.4,<1.5"
    assert version("panoramisk").split(".")[:2] == ["1", "4"]


async def test_manager_keeps_routing_in_callbacks_and_patterns() -> None:
    manager = Manager(host="127.0.0.1", port=5038)
    # ami._Manager clears both to drop the FullyBooted → send_awaiting_actions replay, then registers its own
    assert isinstance(manager.callbacks, defaultdict)
    assert [pattern for pattern, _ in manager.patterns] == ["FullyBooted"]
    assert manager.callbacks["FullyBooted"] == [manager.send_awaiting_actions]
    manager.register_event("UserEvent", mock.Mock())
    pattern, regexp = manager.patterns[-1]
    assert pattern == "UserEvent"
    assert regexp.match("UserEvent") is not None
    # ami._Manager.connection_lost sets these two instead of scheduling panoramisk's reconnect
    assert manager._connected is False
    assert manager.authenticated is False
    assert list(inspect.signature(Manager.dispatch).parameters) == ["self", "event"]
    assert list(inspect.signature(Manager.connection_lost).parameters) == ["self", "exc"]


async def test_protocol_state_set_on_connection_and_used_by_the_wire_protocol() -> None:
    protocol = AMIProtocol()
    protocol.connection_made(mock.Mock(spec=asyncio.Transport))
    # protocol.WireProtocol reads and writes these; data_received is replaced, handle_message extended
    assert protocol.responses == {}
    assert protocol.closed is False
    assert protocol.version is None
    assert protocol.factory is None
    for name in ("data_received", "handle_message", "connection_made", "connection_lost", "close"):
        assert callable(getattr(AMIProtocol, name)), name
    assert list(inspect.signature(AMIProtocol.handle_message).parameters) == ["self", "message"]


async def test_action_and_message_shapes_the_protocol_matches_replies_with() -> None:
    action = Action({"Action": "Ping"})
    assert isinstance(action.future, asyncio.Future)
    assert action.id == action["ActionID"]
    assert str(action).endswith("\r\n\r\n")
    reply = Message.from_line(f"Response: Success\r\nActionID: {action.id}\r\nPing: Pong\r\n")
    assert reply is not None
    assert reply.action_id == action.id
    assert reply.success
