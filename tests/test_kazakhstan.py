"""+7 6xx and +7 7xx are Kazakhstan's: every front end (v1, v2, the AMI worker, FastAGI, the CLI) says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.ami.conftest import until, worker_settings
from tests.ami.fake_asterisk import FakeAsterisk
from tests.ami.test_fastagi import fastagi_session
from worker.api.app import create_app
from worker.asterisk.worker import start_worker
from worker.cli.main import main
from worker.lookup.engine import LookupEngine
from worker.numbers import is_kazakh, is_russian
from worker.settings import HttpSettings, Settings

KCELL = "77012345678"  # a mobile number libphonenumber knows (Kcell)
ASTANA = "77172123456"  # a fixed line in Astana
SIX = "76012345678"  # a 6xx code: Kazakhstan's, though libphonenumber has no ranges for it yet
KAZAKH = [KCELL, ASTANA, SIX]


@pytest.fixture
async def asterisk() -> Any:
    server = FakeAsterisk(channels=set())
    await server.start()
    yield server
    await server.stop()


def test_the_codes() -> None:
    for number in KAZAKH:
        assert is_kazakh(number)
        assert not is_russian(number)
    assert is_russian("79170415564")
    assert is_russian("74959898533")
    assert not is_kazakh("79170415564")


@pytest.mark.parametrize("number", KAZAKH)
async def test_http_v1_says_not_russian_and_v2_says_kazakhstan(
    aiohttp_client: Any, engine: LookupEngine, data_dir: Path, number: str
) -> None:
    app = create_app(Settings(data_dir=data_dir, http=HttpSettings(rate_limit=0)), engine)
    client = await aiohttp_client(app)
    for raw in (number, "+" + number, "8" + number[1:]):
        response = await client.get("/get/", params={"num": raw})
        assert response.status == 404
        assert (await response.json())["info"].startswith("Номер не российский")
    response = await client.get(f"/get/v2/?num={number}")
    body = await response.json()
    assert response.status == 200
    assert (body["destination"], body["flag_iso"], body["flag_icon"]) == ("Kazakhstan", "KZ", "🇰🇿")
    assert body["country_code"] == 7
    assert (body["timezone"], body["utc_offset"]) == ("Asia/Almaty", "+05:00")
    response = await client.post("/get/v2/batch", json=[number])
    assert (await response.json())[0]["flag_iso"] == "KZ"


async def test_http_v2_carries_what_libphonenumber_knows(
    aiohttp_client: Any, engine: LookupEngine, data_dir: Path
) -> None:
    app = create_app(Settings(data_dir=data_dir, http=HttpSettings(rate_limit=0)), engine)
    client = await aiohttp_client(app)
    kcell = await (await client.get(f"/get/v2/?num={KCELL}")).json()
    assert (kcell["type_id"], kcell["registrar"]) == ("MOB", "Kcell/Activ")
    astana = await (await client.get(f"/get/v2/?num={ASTANA}")).json()
    assert (astana["type_id"], astana["location"]) == ("FIX", "Astana")
    six = await (await client.get(f"/get/v2/?num={SIX}")).json()
    assert (six["type_id"], six["cns"]) == ("UNK", 76)


@pytest.mark.parametrize("number", KAZAKH)
async def test_ami_worker_sets_country_kz(asterisk: FakeAsterisk, engine: LookupEngine, number: str) -> None:
    async with start_worker(worker_settings(asterisk.port), engine, None) as worker:
        await asterisk.wait(lambda: asterisk.logins_ok == 1)
        await asterisk.user_event("1795871609.7", number)
        await until(lambda: worker.stats.answers["OK"] == 1)
    got = dict(asterisk.setvars("1795871609.7"))
    assert got["NUM_COUNTRY"] == "KZ"
    assert got["NUM_DESTINATION"] == "Kazakhstan"
    assert got["NUM_TZ"] == "Asia/Almaty"
    assert json.loads(got["var"])["flag_iso"] == "KZ"  # v2 JSON: v1 cannot describe a foreign number


@pytest.mark.parametrize("number", KAZAKH)
async def test_fastagi_sets_country_kz(engine: LookupEngine, number: str) -> None:
    commands = await fastagi_session(engine, [number])
    assert 'SET VARIABLE NUM_COUNTRY "KZ"\n' in commands
    assert 'SET VARIABLE NUM_DESTINATION "Kazakhstan"\n' in commands
    assert commands[-1] == 'SET VARIABLE NUM_STATUS "OK"\n'


@pytest.mark.parametrize("number", KAZAKH)
def test_cli(data_dir: Path, capsys: pytest.CaptureFixture[str], number: str) -> None:
    assert main(["--data-dir", str(data_dir), "lookup", number]) == 1
    assert json.loads(capsys.readouterr().out)["info"].startswith("Номер не российский")
    assert main(["--data-dir", str(data_dir), "lookup", "--v2", number]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["destination"], body["flag_iso"]) == ("Kazakhstan", "KZ")
    assert main(["--data-dir", str(data_dir), "lookup", "--v2", number, "--field", "flag_iso"]) == 0
    assert capsys.readouterr().out == "KZ\n"
