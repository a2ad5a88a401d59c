"""``numlookup data ...`` through the real CLI entry point."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import REAL_REDIS_URL
from tests.data.conftest import FIXTURES, REAL_DEF, ROSSVYAZ
from worker.cli.main import main
from worker.cli.progress import Progress
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore


def run(data_dir: Path, *argv: str) -> int:
    return main(["--data-dir", str(data_dir), *argv])


def test_import_status_and_lookup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert run(data, "data", "import", str(REAL_DEF), str(FIXTURES)) == 0
    out, err = capsys.readouterr()
    assert "17,067 ranges, 0 ported numbers" in out
    assert "imported 17,067 ranges" in err  # the final progress line, even off a terminal
    assert run(data, "data", "status") == 0
    status = capsys.readouterr().out
    assert "ranges:    17,067" in status
    assert f"local:     {data} (1 versions kept)" in status
    assert run(data, "lookup", "79170415564") == 0
    assert '"operator": "МТС", "region": "Республика Башкортостан"' in capsys.readouterr().out


def test_regions_naming_no_subject_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    sample = ROSSVYAZ / "abc-sample"
    assert (
        run(data, "data", "import", str(sample / "ABC-3xx-sample.csv"), str(sample / "ABC-8xx-sample.csv"))
        == 0
    )
    err = capsys.readouterr().err
    expected = (
        "10 rows have a region that names no federal subject, kept as written: "
        "'Дальневосточный федеральный округ' (10)"
    )
    assert expected in err
    assert run(data, "data", "status") == 0
    assert f"regions:   {expected}" in capsys.readouterr().out
    assert run(data, "lookup", "78001550000") == 0  # one of those rows: answered with the region as written
    assert '"region": "Дальневосточный федеральный округ"' in capsys.readouterr().out
    assert run(data, "lookup", "--field", "locality", "73474521100") == 0
    assert capsys.readouterr().out == "р-н Аургазинский\n"


def test_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "ABC-3xx.csv"
    broken.write_text(
        "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН\n301;1;2\n", encoding="utf-8"
    )
    assert run(tmp_path / "data", "data", "import", str(broken)) == 2
    err = capsys.readouterr().err
    assert err == f"numlookup: {broken}:2: 3 fields, expected 8\n"
    assert run(tmp_path / "data", "data", "status") == 2
    assert "no dataset in" in capsys.readouterr().err


def test_generators_feed_the_importers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert run(data, "data", "gen-registry", str(tmp_path / "reg"), "--ranges", "3000") == 0
    names = sorted(path.name for path in (tmp_path / "reg").iterdir())
    assert names == ["ABC-3xx.csv", "ABC-4xx.csv", "ABC-8xx.csv", "DEF-9xx.csv"]
    assert run(data, "data", "import", str(tmp_path / "reg")) == 0
    ranges = LocalStore(data).open().meta.ranges
    assert 2_700 < ranges < 3_300
    assert run(data, "data", "gen-mnp", str(tmp_path / "mnp"), "--numbers", "2000", "--increments", "1") == 0
    assert run(data, "data", "import-mnp", str(tmp_path / "mnp")) == 0
    assert 1_900 < LocalStore(data).open().ported_count < 2_100
    # The same generator can draw from registry files instead of the current dataset.
    arguments = ["--numbers", "100", "--increments", "0", "--registry", str(REAL_DEF)]
    assert run(data, "data", "gen-mnp", str(tmp_path / "mnp2"), *arguments) == 0
    capsys.readouterr()


def test_import_publishes_to_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def current() -> bytes | None:
        client = Redis.from_url(REAL_REDIS_URL)
        try:
            await client.ping()
            return await client.get(Keys("nlclitest").current)
        finally:
            await client.aclose()

    try:
        asyncio.run(current())
    except OSError as error:
        if os.environ.get("CI"):  # CI always has one (.ci/run starts it)
            raise
        pytest.skip(f"no Redis at {REAL_REDIS_URL}: {error}")
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", REAL_REDIS_URL)
    monkeypatch.setenv("NUMLOOKUP_REDIS__PREFIX", "nlclitest")
    assert run(tmp_path / "data", "data", "import", str(FIXTURES)) == 0
    version = LocalStore(tmp_path / "data").current_version()
    assert asyncio.run(current()) == (version or "").encode()
    assert run(tmp_path / "data", "data", "status") == 0
    assert f"current {version} (same as local)" in capsys.readouterr().out
    asyncio.run(forget("nlclitest"))


async def forget(prefix: str) -> None:
    client = Redis.from_url(REAL_REDIS_URL)
    try:
        for pattern in (f"{prefix}:*", f"{{{prefix}:*"):  # plain keys, and keys with a hash tag
            async for key in client.scan_iter(match=pattern):
                await client.delete(key)
    finally:
        await client.aclose()


def test_progress_line_is_throttled_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream)
    for done in range(1000):
        progress("MNP Port_All.csv", done, 1000)
    progress.finish("imported MNP data")
    text = stream.getvalue()
    assert "MNP Port_All.csv" in text
    assert 1 <= text.count("\r") < 10
    assert text.endswith("s\n")
    assert text.splitlines()[-1].startswith("imported MNP data in ")


def test_progress_off_a_terminal_is_one_line_per_download_and_the_summary() -> None:
    stream = io.StringIO()
    downloads = Progress(stream, unit="B")
    for done in (0, 4096, 8192):
        downloads("DEF-9xx.csv", done, 8192)
    downloads("ABC-3xx.csv", 100, None)  # no Content-Length: nothing to call finished
    downloads.finish("fetched")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "DEF-9xx.csv: 8,192 bytes downloaded"
    assert lines[1].startswith("fetched in ")
    assert len(lines) == 2


def test_redis_down_keeps_the_local_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", "redis://127.0.0.1:1/0")
    assert run(tmp_path / "data", "data", "import", str(FIXTURES)) == 2
    version = LocalStore(tmp_path / "data").current_version()
    assert version is not None
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"numlookup: imported locally as {version}, but publishing to Redis failed:")
    assert run(tmp_path / "data", "data", "status") == 0
    assert "redis:     redis://127.0.0.1:1/0 unreachable" in capsys.readouterr().out


def test_printed_redis_urls_hide_the_password() -> None:
    from worker.service.exclusive import shown_url

    assert shown_url("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert shown_url("redis://app:s3cret@redis/1") == "redis://app:***@redis/1"
    assert shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_if_changed_after_an_upgrade_imports_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make run DATA=...`` after an upgrade that bumped the dataset format: the serving version of the same
    files can no longer be read, so it is imported again instead of the command failing."""
    data = tmp_path / "data"
    assert run(data, "data", "import", "--if-changed", str(REAL_DEF)) == 0
    store = LocalStore(data)
    old = store.current_version()
    meta_path = store.versions_dir / (old or "") / "meta.json"
    meta_path.write_text(meta_path.read_text(encoding="utf-8").replace('"format": 3', '"format": 2'), "utf-8")
    capsys.readouterr()
    assert run(data, "data", "import", "--if-changed", str(REAL_DEF)) == 0
    assert "already serves" not in capsys.readouterr().out
    assert store.current_version() != old
    assert run(data, "lookup", "79170415564") == 0
