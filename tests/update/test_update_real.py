"""End to end through the CLI with the real importer: update, MNP sync, gates, diff, rollback, --every, Redis.

The fake portal runs in its own thread (the CLI runs its own event loop, as it does for a user).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import REAL_REDIS_URL, real_redis_sync
from tests.update.portal_fake import ROWS, FakePortal, registry_csv
from worker.cli.main import main
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore

MTS_INN, MEGAFON_INN = "7740000076", "7812014560"
PORTED = 9170000001
OPERATORS_CSV = (
    "OrgCode,MNC,TIN,OrgName,RowCount\n"
    f'mMTS,01,{MTS_INN},"ПАО ""МТС""",2\n'
    f'mMEGAFON,02,{MEGAFON_INN},"ПАО ""МЕГАФОН""",\n'
)
INCREMENT_CSV = (
    "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,OldMNC,NewMNC,RegionCode,PortDate,RowCount\n"
    f"1,{PORTED},mMEGAFON,mMTS,mMTS,D0201,D7701,01,02,02,2026-01-02T12:00:00+03:00,1\n"
)


@pytest.fixture
def cli(portal_thread: tuple[FakePortal, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    monkeypatch.setenv("NUMLOOKUP_DATA__PORTAL_URL", portal_thread[1])
    monkeypatch.setenv("NUMLOOKUP_DATA__PORTAL_BACKOFF", "0")
    monkeypatch.delenv("NUMLOOKUP_REDIS__URL", raising=False)
    return LocalStore(tmp_path / "data")


def run(store: LocalStore, *args: str) -> int:
    return main(["--data-dir", str(store.root), "data", *args])


def test_update_sync_gate_diff_rollback(
    cli: LocalStore, portal_thread: tuple[FakePortal, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, _ = portal_thread
    assert run(cli, "update") == 0
    assert "now serving (0 → 10 ranges" in capsys.readouterr().out
    first = cli.current_version()
    dataset = cli.open()
    assert dataset.allocation(PORTED).operator.inn == MTS_INN  # type: ignore[union-attr]
    dataset.close()

    mnp_dir = tmp_path / "sftp"
    mnp_dir.mkdir()
    (mnp_dir / "Operators_20260101.csv").write_text(OPERATORS_CSV, encoding="utf-8")
    (mnp_dir / "Port_Increment_20260102_000001.csv").write_text(INCREMENT_CSV, encoding="utf-8")
    assert run(cli, "mnp-sync", str(mnp_dir)) == 0
    assert "applied Operators_20260101.csv, Port_Increment_20260102_000001.csv" in capsys.readouterr().out
    assert run(cli, "mnp-sync", str(mnp_dir)) == 0
    assert "no new MNP files" in capsys.readouterr().out

    rows = [*ROWS["DEF-9xx.csv"], (999, 0, 99999, 'ООО "НОВЫЙ ОПЕРАТОР"', "г. Москва", "7700000001")]
    fake.publish("DEF-9xx.csv", registry_csv(rows), datetime(2026, 8, 19, 14, 5))
    assert run(cli, "update") == 0
    assert "(10 → 11 ranges; downloaded DEF-9xx.csv;" in capsys.readouterr().out
    dataset = cli.open()
    assert dataset.recipient(PORTED).inn == MEGAFON_INN  # type: ignore[union-attr]  # ported numbers carried over
    dataset.close()

    fake.publish("DEF-9xx.csv", registry_csv(rows[:1]), datetime(2026, 8, 20, 0, 0))
    serving = cli.current_version()
    assert run(cli, "update") == 2
    assert f"36.4% fewer than the 11 serving now (limit 5.0%): refused, {serving} keeps serving" in (
        capsys.readouterr().err
    )
    assert cli.current_version() == serving
    assert run(cli, "update", "--force") == 0
    capsys.readouterr()

    assert run(cli, "diff") == 0
    report = capsys.readouterr().out
    assert "ranges: 11 → 7 (-4); unchanged 7" in report
    assert "removed: 4 ranges, 2,101,000 numbers" in report

    assert run(cli, "rollback") == 0
    assert cli.current_version() == serving
    assert run(cli, "versions") == 0
    listing = capsys.readouterr().out
    assert first in listing
    assert f"* {serving}" in listing


def test_unreachable_portal_is_one_line_and_data_keeps_serving(
    cli: LocalStore, portal_thread: tuple[FakePortal, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cli, "update") == 0
    capsys.readouterr()
    serving = cli.current_version()
    portal_thread[0].forbid_all = True
    assert run(cli, "update") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "403 Forbidden" in err
    assert f"{serving} keeps serving" in err
    assert cli.current_version() == serving


def test_every_runs_until_sigterm(portal_thread: tuple[FakePortal, str], tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "NUMLOOKUP_DATA__PORTAL_URL": portal_thread[1],
        "NUMLOOKUP_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(repo),
    }
    env.pop("NUMLOOKUP_REDIS__URL", None)
    command = [sys.executable, "-m", "worker", "data", "update", "--every", "6h"]
    with subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        assert "now serving" in process.stdout.readline()  # the first run happened; now it sleeps
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert LocalStore(tmp_path / "data").current_version() is not None


def test_rollback_sets_the_redis_current_key(
    cli: LocalStore, monkeypatch: pytest.MonkeyPatch, portal_thread: tuple[FakePortal, str]
) -> None:
    client = real_redis_sync()
    client.flushdb()
    prefix = f"test-update-{os.getpid()}"
    monkeypatch.setenv("NUMLOOKUP_REDIS__URL", REAL_REDIS_URL)
    monkeypatch.setenv("NUMLOOKUP_REDIS__PREFIX", prefix)
    try:
        assert run(cli, "update") == 0
        first = cli.current_version()
        assert client.get(Keys(prefix).current) == first.encode()  # type: ignore[union-attr]
        rows = [*ROWS["DEF-9xx.csv"], (999, 0, 99999, 'ООО "НОВЫЙ"', "г. Москва", "7700000001")]
        portal_thread[0].publish("DEF-9xx.csv", registry_csv(rows), datetime(2026, 9, 1))
        assert run(cli, "update") == 0
        assert client.get(Keys(prefix).current) == cli.current_version().encode()  # type: ignore[union-attr]
        assert run(cli, "rollback") == 0
        assert client.get(Keys(prefix).current) == first.encode()  # type: ignore[union-attr]
    finally:
        client.flushdb()
        client.close()


def test_a_file_the_importer_cannot_parse_is_refused(
    cli: LocalStore, portal_thread: tuple[FakePortal, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, _ = portal_thread
    assert run(cli, "update") == 0
    serving = cli.current_version()
    capsys.readouterr()
    fake.publish("ABC-3xx.csv", registry_csv(ROWS["ABC-3xx.csv"]) + b"\n301;1;2;3", datetime(2026, 8, 1))
    assert run(cli, "update", "--force") == 2  # --force overrides the share gate only
    assert "ABC-3xx.csv:4: 4 fields, expected 8" in capsys.readouterr().err
    assert cli.current_version() == serving
    assert cli.versions() == [serving]
    assert list((cli.root / "tmp").iterdir()) == []
