"""``numlookup api --workers N`` killed outright (SIGKILL: no chance to stop its children) leaves no worker
serving the port: each child is tied to its parent by the kernel (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.test_first_start import REPO, offline_env
from tests.upstream.processes import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


async def test_the_workers_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    port = free_port()
    command = [
        "-m",
        "worker",
        "--data-dir",
        str(tmp_path / "data"),
        "api",
        "--workers",
        "2",
        "--port",
        str(port),
    ]
    env = {**offline_env(), "NUMLOOKUP_DATA__FETCH_ON_START": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=REPO, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            listening = 0
            while listening < 2:  # both children serve
                line = (await process.stderr.readline()).decode()
                assert line, "the API ended before both workers listened"
                listening += "API listening on" in line
        process.send_signal(signal.SIGKILL)
        await process.wait()
        # every child holds the parent's stderr: its end of file means no child is left
        async with asyncio.timeout(15):
            while await process.stderr.readline():
                pass
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
