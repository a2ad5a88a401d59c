"""The real byte stream a panoramisk client received across two Asterisk restarts
(tests/realdata/ami/asterisk-22.10.1-session.raw), replayed through our wire protocol in every chunking."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.realdata import AMI
from worker.asterisk.protocol import ClientStats, WireProtocol

RAW = (AMI / "asterisk-22.10.1-session.raw").read_bytes()
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.lost = 0

    def dispatch(self, message: Any) -> None:
        self.events.append(message)

    def connection_lost(self, exc: object) -> None:
        self.lost += 1


class Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True

    def write(self, data: bytes) -> None:
        pass


def replay(session: bytes, chunk: int) -> tuple[Recorder, WireProtocol]:
    recorder = Recorder()
    protocol = WireProtocol(recorder, "capture", ClientStats())
    protocol.connection_made(Transport())  # type: ignore[arg-type]
    for start in range(0, len(session), chunk):
        protocol.data_received(session[start : start + chunk])
    return recorder, protocol


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000, len(RAW)])
def test_every_event_of_the_capture_in_any_chunking(chunk: int) -> None:
    sessions = [BANNER + part for part in RAW.split(BANNER) if part]
    assert len(sessions) >= 3  # the capture spans two restarts
    events: list[Any] = []
    for session in sessions:
        recorder, protocol = replay(session, chunk)
        assert protocol.version == "11.0.0"
        events += recorder.events
    user_events = [e for e in events if e["Event"] == "UserEvent"]
    expected = re.findall(rb"Uniqueid: (\S+)\r\nLinkedid: \S+\r\nUserEvent: Num\r\nnumber: (\S+)\r\n", RAW)
    assert len(user_events) == len(expected) == 15
    assert [(e["Uniqueid"], e["number"]) for e in user_events] == [
        (u.decode(), n.decode()) for u, n in expected
    ]
    assert [e["Event"] for e in events].count("FullyBooted") == RAW.count(b"Event: FullyBooted")


def test_shutdown_event_ends_the_session() -> None:
    session = next(part for part in RAW.split(BANNER) if b"Event: Shutdown" in part)
    recorder, protocol = replay(BANNER + session, 100)
    assert protocol.closed
    assert protocol.lost.is_set()
    assert recorder.lost == 1
