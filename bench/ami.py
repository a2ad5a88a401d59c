"""AMI load generator: how many UserEvent(Num) per second the worker answers, and how fast.

Plays Asterisk over a real socket (banner, Login, UserEvent as in tests/realdata/ami/, Setvar replies) and
runs the subject in its own process, so the generator does not share its CPU time:

- ``worker``: ``python -m worker worker`` on a small hand-made dataset (a Russian lookup costs the same
  array search on the full registry), no Redis;
- ``worker+redis``: the same with Redis claims (HA mode: a pipelined ``SET NX PX`` and ``GET`` per event);
- ``baseline``: a minimal raw-socket client that answers every event with the same number of Setvars
  without any lookup or panoramisk — the floor set by this generator, the sockets and Python itself.

Figures: events/s sustained with a window of events in flight, then event → NUM_STATUS latency p50/p99 at a
steady 500 events/s. Run: ``python bench/ami.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
EVENT = (
    "Event: UserEvent\r\nPrivilege: user,all\r\nChannel: Local/s@test-00000000;2\r\nChannelState: 4\r\n"
    "ChannelStateDesc: Ring\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n"
    "ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
    "Context: test\r\nExten: s\r\nPriority: 6\r\nUniqueid: 1795871609.{n}\r\nLinkedid: 1795871609.0\r\n"
    "UserEvent: Num\r\nnumber: {number}\r\n\r\n"
)
NUMBERS = ["79170415564", "79261234567", "74959898533", "79000062500"]


class Generator(asyncio.Protocol):
    """The Asterisk side: answers every action at once and timestamps each NUM_STATUS."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(BANNER)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        *actions, self.buffer = (self.buffer + data).split(b"\r\n\r\n")
        replies = []
        for action in actions:
            headers = dict(line.split(b": ", 1) for line in action.split(b"\r\n") if b": " in line)
            action_id = headers.get(b"ActionID", b"")
            name = headers.get(b"Action", b"").lower()
            if name == b"login":
                replies.append(
                    b"Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n"
                    % action_id
                )
                self.bench.session = self
                self.bench.ready.set()
            elif name == b"ping":
                replies.append(
                    b"Response: Success\r\nActionID: %s\r\nPing: Pong\r\nTimestamp: 0\r\n\r\n" % action_id
                )
            else:
                replies.append(
                    b"Response: Success\r\nActionID: %s\r\nMessage: Variable Set\r\n\r\n" % action_id
                )
                if headers.get(b"Variable") == b"NUM_STATUS":
                    self.bench.answered(headers.get(b"Channel", b""), now)
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


class Bench:
    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.session: Generator | None = None
        self.sent: dict[bytes, float] = {}
        self.latencies: list[float] = []
        self.done = asyncio.Event()
        self.expected = 0
        self.counter = 0
        self.free = asyncio.Semaphore(1 << 30)

    def answered(self, channel: bytes, now: float) -> None:
        started = self.sent.pop(channel, None)
        if started is None:
            return
        self.latencies.append(now - started)
        self.free.release()
        if len(self.latencies) >= self.expected:
            self.done.set()

    def send(self, count: int) -> None:
        assert self.session is not None
        assert self.session.transport is not None
        chunks = []
        now = time.perf_counter()
        for _ in range(count):
            self.counter += 1
            self.sent[b"1795871609.%d" % self.counter] = now
            chunks.append(EVENT.format(n=self.counter, number=NUMBERS[self.counter % len(NUMBERS)]))
        self.session.transport.write("".join(chunks).encode())

    def reset(self, expected: int) -> None:
        self.latencies = []
        self.sent.clear()
        self.expected = expected
        self.done = asyncio.Event()


async def throughput(bench: Bench, events: int, window: int) -> float:
    """Events/s with ``window`` events in flight (the worker's concurrency is higher)."""
    bench.reset(events)
    bench.free = asyncio.Semaphore(window)
    started = time.perf_counter()
    for _ in range(events):
        await bench.free.acquire()
        bench.send(1)
    await asyncio.wait_for(bench.done.wait(), 120)
    return events / (time.perf_counter() - started)


async def steady(bench: Bench, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of events sent at a steady ``rate`` for ``seconds``."""
    total = int(rate * seconds)
    bench.reset(total)
    bench.free = asyncio.Semaphore(1 << 30)
    started = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        if due > sent:
            bench.send(due - sent)
            sent = due
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    await asyncio.wait_for(bench.done.wait(), 60)
    return bench.latencies


def subject_command(subject: str, port: int) -> list[str]:
    if subject == "baseline":
        return [sys.executable, __file__, "--baseline-client", str(port)]
    profile = os.environ.get("BENCH_PROFILE")  # a file: profile the worker with cProfile into it
    return [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []), "-m", "worker", "worker"]


def subject_env(subject: str, port: int, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMLOOKUP_")}
    env.update({
        "NUMLOOKUP_DATA_DIR": str(data_dir), "NUMLOOKUP_LOG_LEVEL": "WARNING",
        "NUMLOOKUP_AMI__HOST": "127.0.0.1", "NUMLOOKUP_AMI__PORT": str(port),
        "NUMLOOKUP_AMI__USERNAME": "bench", "NUMLOOKUP_AMI__SECRET": "bench",
        "NUMLOOKUP_FASTAGI__ENABLED": "false", "PYTHONPATH": str(ROOT),
    })  # fmt: skip
    if subject == "worker+redis":
        env["NUMLOOKUP_REDIS__URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    return env


async def run_subject(subject: str, args: argparse.Namespace, data_dir: Path) -> tuple[float, list[float]]:
    bench = Bench()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Generator(bench), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *subject_command(subject, port), env=subject_env(subject, port, data_dir), cwd=ROOT
    )
    try:
        await asyncio.wait_for(bench.ready.wait(), 30)
        await throughput(bench, min(1000, args.events), args.window)  # warm-up
        rate = await throughput(bench, args.events, args.window)
        latencies = await steady(bench, args.rate, args.seconds)
        return rate, latencies
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        server.close()


def report(subject: str, rate: float, latencies: list[float], target_rate: float) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"{subject:14s} {rate:9.0f} events/s   at {target_rate:.0f}/s: p50 {p50:.2f} ms  p99 {p99:.2f} ms"
        f"  max {ms[-1]:.2f} ms  (n={len(ms)})"
    )


async def main(args: argparse.Namespace) -> None:
    from tests.conftest import build_small_dataset
    from worker.data.dataset.store import LocalStore

    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "data")
        scratch = store.scratch()
        store.publish(scratch, build_small_dataset(scratch))
        print(f"{args.events} events (window {args.window}), then {args.rate:.0f}/s for {args.seconds:.0f} s")
        for subject in args.subjects:
            rate, latencies = await run_subject(subject, args, store.root)
            report(subject, rate, latencies, args.rate)


async def baseline_client(port: int) -> None:
    """The floor: log in, answer each UserEvent with 9 Setvars (8 in one write, then NUM_STATUS)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    writer.write(b"Action: Login\r\nActionID: 1\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
    buffer, counter = b"", 0
    while data := await reader.read(65536):
        *messages, buffer = (buffer + data).split(b"\r\n\r\n")
        out = []
        for message in messages:
            if not message.startswith(b"Event: UserEvent"):
                continue
            uniqueid = message.split(b"Uniqueid: ", 1)[1].split(b"\r\n", 1)[0]
            for variable in (b"A", b"B", b"C", b"D", b"E", b"F", b"G", b"var", b"NUM_STATUS"):
                counter += 1
                out.append(
                    b"Action: Setvar\r\nActionID: %d\r\nChannel: %s\r\nValue: x\r\nVariable: %s\r\n\r\n"
                    % (counter, uniqueid, variable)
                )
        if out:
            writer.write(b"".join(out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=200, help="events in flight in the throughput run")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--subjects",
        nargs="+",
        default=["baseline", "worker", "worker+redis"],
        choices=["baseline", "worker", "worker+redis"],
    )
    parser.add_argument("--baseline-client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        if arguments.baseline_client:
            asyncio.run(baseline_client(arguments.baseline_client))
        else:
            asyncio.run(main(arguments))
