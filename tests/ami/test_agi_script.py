"""asterisk-conf/agi/numlookup-agi.py (stdlib only) against a real HTTP server answering as the API does:
it must set exactly the variables the worker sets."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from worker.answer.dialplan import variables
from worker.answer.voxlink import v1_reply, v2_reply
from worker.api.replies import reply_response
from worker.asterisk.fastagi import quote
from worker.errors import InvalidNumber
from worker.lookup.engine import LookupEngine

SCRIPT = Path(__file__).resolve().parents[2] / "asterisk-conf" / "agi" / "numlookup-agi.py"


@pytest.fixture
async def api_url(engine: LookupEngine, aiohttp_server: Any) -> str:
    async def answer(request: web.Request) -> web.Response:
        raw = request.query.get("num", "")
        try:
            outcome: Any = await engine.lookup(raw)
        except InvalidNumber as error:
            outcome = error
        translit = request.query.get("translit") == "1"
        v1 = v1_reply(raw, outcome, translit=translit)
        reply = v2_reply(raw, outcome) if request.path == "/get/v2/" else v1
        return reply_response(reply)  # the API's own headers, X-Numlookup-Source included

    app = web.Application()
    app.router.add_get("/get/", answer)
    app.router.add_get("/get/v2/", answer)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def run_script(url: str, *args: str) -> list[str]:
    env_block = "agi_network: no\nagi_request: numlookup-agi.py\n"
    env_block += "".join(f"agi_arg_{n}: {arg}\n" for n, arg in enumerate(args, 1)) + "\n"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NUMLOOKUP_URL": url, "NUMLOOKUP_TIMEOUT": "2"},
    )  # fmt: skip
    stdout, _ = await process.communicate((env_block + "200 result=1\n" * 20).encode())
    assert process.returncode == 0
    return stdout.decode().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("number", "version", "var"),
    [
        ("79261234567", 1, "var"),
        ("79261234567", 2, "numjson"),
        ("79991234567", 1, "var"),  # Russian, in no registry range
        ("+4915123456789", 1, "var"),
        ("77012345678", 1, "var"),  # Kazakhstan: +7, but not Russian
        ("76012345678", 1, "var"),  # Kazakhstan's 6xx, which libphonenumber has no ranges for
        ("0", 1, "var"),
    ],
)
async def test_sets_the_same_variables_as_the_worker(
    api_url: str, engine: LookupEngine, number: str, version: int, var: str
) -> None:
    before = variables(engine.lookup_now(number), version=version, var=var)  # type: ignore[arg-type]
    lines = await run_script(api_url, number, str(version), var)
    after = variables(engine.lookup_now(number), version=version, var=var)  # type: ignore[arg-type]
    # NUM_LOCAL_TIME is read from the clock, and the run may straddle a minute
    rendered = [[f"SET VARIABLE {name} {quote(value)}\n" for name, value in vs] for vs in (before, after)]
    assert lines in rendered


async def test_invalid_number(api_url: str) -> None:
    lines = await run_script(api_url, 'not-a-number" EXEC System rm')
    assert lines == ['SET VARIABLE var ""\n', 'SET VARIABLE NUM_STATUS "INVALID"\n']


async def test_api_unreachable_is_an_error_status() -> None:
    lines = await run_script("http://127.0.0.1:1", "79170415564")
    assert lines == ['SET VARIABLE var ""\n', 'SET VARIABLE NUM_STATUS "ERROR"\n']
