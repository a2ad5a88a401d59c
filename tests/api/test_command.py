"""``numlookup api --workers 2``: two processes on one port, both answering, both stopping on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_lines(stream: asyncio.StreamReader, text: str, count: int) -> list[str]:
    seen: list[str] = []
    while sum(text in line for line in seen) < count:
        line = await stream.readline()
        assert line, f"the command exited before logging {text!r} {count} times: {seen}"
        seen.append(line.decode())
    return seen


async def test_workers_share_the_port_and_stop_on_sigterm(data_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "NUMLOOKUP_HTTP__RATE_LIMIT": "0", "NUMLOOKUP_REDIS__URL": ""}
    command = ["-m", "worker", "--data-dir", str(data_dir), "api", "--port", str(port), "--workers", "2"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=REPO, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        await wait_for_lines(process.stderr, "API listening on", 2)
        pids = set()
        for _ in range(40):  # a new connection each time: the kernel spreads them over the workers
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/health") as response:
                    pids.add(json.loads(await response.text())["pid"])
                async with session.get(
                    f"http://127.0.0.1:{port}/get/?num=74959898533&field=operator"
                ) as response:
                    assert (response.status, await response.text()) == (200, "Ростелеком")
        assert len(pids) == 2
        assert process.pid not in pids
    finally:
        process.send_signal(signal.SIGTERM)
        rest = (await process.stderr.read()).decode()
        assert await process.wait() == 0
    assert rest.count("shutting down") == 2


async def test_bad_option_is_one_line_not_a_traceback(data_dir: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "--data-dir", str(data_dir), "api", "--workers", "0",
        cwd=REPO, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode == 2
    assert stderr.decode().startswith("numlookup: invalid option")
    assert "Traceback" not in stderr.decode()


async def test_one_scrape_of_three_workers_counts_the_requests_of_all_three(data_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "NUMLOOKUP_HTTP__RATE_LIMIT": "0", "NUMLOOKUP_REDIS__URL": ""}
    command = ["-m", "worker", "--data-dir", str(data_dir), "api", "--port", str(port), "--workers", "3"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=REPO, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    sent = 90
    try:
        await wait_for_lines(process.stderr, "API listening on", 3)
        for _ in range(sent):  # a new connection each time: the kernel spreads them over the three
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/get/?num=74959898533") as response,
            ):
                assert response.status == 200
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            text = await response.text()
    finally:
        process.send_signal(signal.SIGTERM)
        await process.stderr.read()
        assert await process.wait() == 0
    families = {family.name: family for family in text_string_to_metric_families(text)}
    v1 = [
        sample
        for sample in families["numlookup_http_requests"].samples
        if sample.labels["route"] == "v1" and sample.labels["status"] == "200"
    ]
    assert sum(sample.value for sample in v1) == sent
    assert len({sample.labels["pid"] for sample in v1}) == 3  # each process served some, and is counted
    latency = families["numlookup_http_request_duration_seconds"].samples
    counts = [s for s in latency if s.name.endswith("_count") and s.labels["route"] == "v1"]
    assert sum(sample.value for sample in counts) == sent
    assert (
        text.count("# TYPE numlookup_http_requests_total counter") == 1
    )  # one family, samples of every process
    assert len({s.labels["pid"] for s in families["numlookup_dataset_info"].samples}) == 3
