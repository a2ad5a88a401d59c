"""Real ``numlookup`` processes for the upstream tests: started with an environment, ready when they say so,
stopped with SIGTERM (SIGKILL for a crash)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_line(stream: asyncio.StreamReader, text: str) -> None:
    seen: list[str] = []
    async with asyncio.timeout(30):
        while not any(text in line for line in seen):
            line = await stream.readline()
            assert line, f"the command exited before logging {text!r}: {seen}"
            seen.append(line.decode())


async def drain(stream: asyncio.StreamReader) -> None:
    """Keep reading a child's stderr so a chatty child never blocks on a full pipe."""
    while await stream.readline():
        pass


@contextlib.asynccontextmanager
async def numlookup(
    data_dir: Path, *command: str, env: dict[str, str], ready: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m worker --data-dir DATA COMMAND...`` until the block exits; ready once it logs ``ready``."""
    environment = {**os.environ, "NUMLOOKUP_HTTP__RATE_LIMIT": "0", "NUMLOOKUP_REDIS__URL": "", **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "--data-dir", str(data_dir), *command,
        cwd=REPO, env=environment, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    reader = None
    try:
        await wait_for_line(process.stderr, ready)
        reader = asyncio.create_task(drain(process.stderr))
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await process.wait()
        if reader is not None:
            await reader
