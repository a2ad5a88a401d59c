"""Every front end says the same thing about the same input: HTTP v1, the CLI's exit status, FastAGI over a
real socket (the AMI worker renders the very same variables, see test_worker_loop), with and without a
registry dataset loaded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.ami.test_fastagi import fastagi_session
from tests.api.conftest import make_settings
from worker.api.app import create_app
from worker.cli.main import main
from worker.lookup.engine import LookupEngine

FORMAT = "Неверный формат номера: num="
NOT_RUSSIAN = "Номер не российский, используйте /get/v2/: num="
NOT_IN_REGISTRY = "Номер не найден в реестре Российской системы и плана нумерации: num="
NO_DATA = "Реестр не загружен (no registry data loaded): num="

# input → (v1 status, v1 info prefix or None for an answer, CLI exit status, FastAGI NUM_STATUS), per dataset
WITH_DATA = {
    "79170415564": (200, None, 0, "OK"),
    "0": (404, FORMAT, 3, "INVALID"),
    "123": (404, FORMAT, 3, "INVALID"),
    "123456789012345": (404, FORMAT, 3, "INVALID"),
    "+358181201235": (404, NOT_RUSSIAN, 1, "OK"),
    "79990000000": (404, NOT_IN_REGISTRY, 1, "NOT_FOUND"),
}
WITHOUT_DATA = {
    **WITH_DATA,
    "79170415564": (503, NO_DATA, 2, "ERROR"),
    "79990000000": (503, NO_DATA, 2, "ERROR"),
}


async def fastagi_status(engine: LookupEngine, number: str) -> str:
    commands = await fastagi_session(engine, [number])
    return commands[-1].split(" ", 3)[3].strip().strip('"')


@pytest.mark.parametrize("loaded", [True, False])
async def test_every_front_end_means_the_same(
    loaded: bool,
    aiohttp_client: Any,
    engine: LookupEngine,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not loaded:
        engine, data_dir = LookupEngine(None), tmp_path / "empty"
    client = await aiohttp_client(create_app(make_settings(data_dir), engine))
    for number, (status, info, exit_status, agi) in (WITH_DATA if loaded else WITHOUT_DATA).items():
        response = await client.get("/get/", params={"num": number})
        body = await response.json()
        assert response.status == status, (number, body)
        if info is None:
            assert body["operator"] == "МТС"
        else:
            assert body == {"info": info + number, "example": body["example"]}
        assert await fastagi_status(engine, number) == agi, number
        cli = ["--data-dir", str(data_dir), "lookup", number]
        assert await asyncio.to_thread(main, cli) == exit_status, number
        printed = json.loads(capsys.readouterr().out)
        assert printed == body  # the CLI prints what the API answers


async def test_an_unknown_field_is_an_error_not_an_empty_answer(
    aiohttp_client: Any, engine: LookupEngine, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await aiohttp_client(create_app(make_settings(data_dir), engine))
    response = await client.get("/get/", params={"num": "79170415564", "field": "operatr"})
    assert response.status == 400
    body = await response.json()
    assert body["info"] == "Неизвестное поле (unknown field): field=operatr"
    assert "operator" in body["fields"]
    response = await client.get("/get/v2/", params={"num": "79170415564", "field": "registar"})
    assert response.status == 400
    assert "registrar" in (await response.json())["fields"]
    response = await client.get("/get/", params={"num": "79170415564", "field": "old_operator"})
    assert (response.status, await response.text()) == (200, "")  # a known field the number lacks
    cli = ["--data-dir", str(data_dir), "lookup", "79170415564", "--field", "operatr"]
    assert await asyncio.to_thread(main, cli) == 2
    assert json.loads(capsys.readouterr().out)["info"].endswith("field=operatr")


def test_lookup_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lookup", "--help"])
    text = capsys.readouterr().out
    for line in ("0  answered", "1  not found", "2  error", "3  malformed number"):
        assert line in text
