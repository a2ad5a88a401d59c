"""The CLI prints exactly what the HTTP API would answer."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_lookup_prints_the_v1_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--data-dir", str(data_dir), "lookup", "79170415564")
    assert status == 0
    assert json.loads(out) == {
        "code": "917",
        "num": "0415564",
        "full_num": "9170415564",
        "operator": "МТС",
        "region": "Республика Башкортостан",
    }


def test_lookup_field_and_translit(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(capsys, "--data-dir", str(data_dir), "lookup", "+79000000000", "--field", "operator")[1]
        == "МТС\n"
    )
    translit = run(
        capsys, "--data-dir", str(data_dir), "lookup", "79000000000", "--field", "old_operator", "--translit"
    )
    assert translit[1] == "T2\n"
    assert (
        run(capsys, "--data-dir", str(data_dir), "lookup", "79170415564", "--field", "old_operator")[1]
        == "\n"
    )


def test_lookup_v2_of_a_foreign_number(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--data-dir", str(data_dir), "lookup", "--v2", "810358181201235")
    assert status == 0
    assert json.loads(out)["flag_iso"] == "AX"


def test_bad_number_prints_the_404_body_and_fails(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--data-dir", str(data_dir), "lookup", "a79000000000")
    assert status == 3  # malformed, told apart from not found (1) and error (2)
    assert json.loads(out)["info"] == "Неверный формат номера: num=a79000000000"


def test_python_dash_m_worker_is_the_same_cli(data_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "--data-dir",
            str(data_dir),
            "lookup",
            "79170415564",
            "--field",
            "region",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Республика Башкортостан\n"


def test_bad_config_is_one_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"), "lookup", "1")
    assert status == 2
    assert err.startswith("numlookup: config file")
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["data", "status"], ["data", "versions"], ["lookup", "79170415564"]])
def test_a_reader_that_went_away_is_not_a_traceback(data_dir: Path, command: list[str]) -> None:
    """``numlookup data status | head -1``: the pipe closes before numlookup has written everything."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "worker", "--data-dir", str(data_dir), *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
