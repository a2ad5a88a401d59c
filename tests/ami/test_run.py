"""``numlookup run``: API, AMI worker and FastAGI in one process, sharing one engine."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.ami.fake_asterisk import FakeAsterisk
from tests.metrics import AMI_SERIES, API_SERIES, sample, series
from worker.service.serve import serve_everything
from worker.settings import Settings


async def get_when_listening(url: str) -> tuple[int, str]:
    async with asyncio.timeout(10), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.02)  # the server is still starting: nothing to wait on but the port


async def test_api_worker_and_fastagi_answer_from_one_process(
    asterisk: FakeAsterisk, data_dir: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    http_port, agi_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    settings = Settings(
        data_dir=data_dir,
        http={"port": http_port, "rate_limit": 0},
        ami={"host": "127.0.0.1", "port": asterisk.port, "username": "worker", "secret": "worker-secret"},
        fastagi={"port": agi_port},
    )
    stop = asyncio.Event()
    service = asyncio.create_task(serve_everything(settings, stop))
    base = f"http://127.0.0.1:{http_port}"
    status, body = await get_when_listening(f"{base}/get/?num=79170415564&field=operator")
    assert (status, body) == (200, "МТС")

    await asterisk.wait(lambda: asterisk.logins_ok == 1)
    await asterisk.user_event("1795871609.1", "79170415564")
    await asterisk.wait(lambda: asterisk.status_of("1795871609.1") == ["OK"])
    assert dict(asterisk.setvars("1795871609.1"))["NUM_REGION"] == "Республика Башкортостан"

    reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
    writer.write(b"agi_network: yes\nagi_network_script: num\nagi_uniqueid: 1.2\nagi_arg_1: 79000000000\n\n")
    commands = []
    while not commands or b"NUM_STATUS" not in commands[-1]:
        commands.append(await reader.readline())
        writer.write(b"200 result=1\n")
    assert await reader.read() == b""  # the server hangs up once the session is counted
    writer.close()
    assert b'SET VARIABLE NUM_OPERATOR "\xd0\x9c\xd0\xa2\xd0\xa1"\n' in commands  # МТС

    status, body = await get_when_listening(f"{base}/health")
    health = json.loads(body)
    assert health["ami"]["ok"] is True

    # One /metrics with both front ends' series; no Redis configured, so no numlookup_redis_up.
    status, text = await get_when_listening(f"{base}/metrics")
    assert status == 200
    assert sample(text, "numlookup_http_requests_total", route="v1", status="200") == 1
    assert sample(text, "numlookup_ami_answers_total", status="OK") == 1
    assert sample(text, "numlookup_fastagi_answers_total", status="OK") == 1
    assert sample(text, "numlookup_ami_connected", server=f"127.0.0.1:{asterisk.port}") == 1
    expected = {**API_SERIES, **AMI_SERIES}
    del expected["numlookup_redis_up"]
    assert series(text) == expected
    stop.set()
    await asyncio.wait_for(service, 10)
