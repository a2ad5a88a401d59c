"""Files an import cannot read: every bad file is one line (file, line or byte, reason) and exit 2, in bounded
memory; nothing is published. Through the real CLI in a process of its own, capped at 1 GB of address space
(so a reader that slurps ``/dev/zero`` fails the test instead of the machine)."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

from tests.data.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
CAP = 1 << 30
PORT_HEADER = (
    "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,"
    "OldMNC,NewMNC,RegionCode,PortDate,RowCount"
)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def numlookup(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "--data-dir", str(data_dir), "data", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_cap_memory,
        check=False,
    )


def test_every_undecodable_registry_file_is_one_line(tmp_path: Path) -> None:
    files = tmp_path / "registry"
    files.mkdir()
    shutil.copy(FIXTURES / "ABC-3xx.csv", files / "ABC-3xx.csv")  # a good one among them
    text = (FIXTURES / "ABC-4xx.csv").read_bytes()
    cut = text.rstrip(b"\n")
    cut = cut[: cut.rfind(b"\xd0") + 1]  # the last Cyrillic letter cut in half
    (files / "ABC-4xx.csv").write_bytes(cut)
    lines = (FIXTURES / "ABC-8xx.csv").read_bytes().split(b"\n")
    lines[2] = lines[2][:20] + b"\xff" + lines[2][21:]  # one bad byte in an otherwise UTF-8 file
    (files / "ABC-8xx.csv").write_bytes(b"\n".join(lines))
    (files / "DEF-9xx.csv").write_bytes(bytes(range(0x80, 0x100)) * 4)  # neither UTF-8 nor cp1251 (0x98)
    (files / "Kody_DEF.csv").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(100))  # a binary

    done = numlookup(tmp_path / "data", "import", str(files))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = done.stderr.splitlines()
    bad_byte = len(b"\n".join(lines[:2])) + 1 + 20
    last_line = cut.count(b"\n") + 1
    assert errors == [
        f"numlookup: {files / 'ABC-4xx.csv'}:{last_line}: not valid UTF-8: byte 0xd0 at byte "
        f"{len(cut) - 1} (the file ends inside a character: cut short?)",
        f"numlookup: {files / 'ABC-8xx.csv'}:3: not valid UTF-8: byte 0xff at byte {bad_byte}",
        f"numlookup: {files / 'DEF-9xx.csv'}:1: neither UTF-8 (byte 0x80 at byte 0) nor cp1251 "
        "(byte 0x98 at byte 24)",
        f"numlookup: {files / 'Kody_DEF.csv'}:1: binary data (a NUL byte at byte 7), not a CSV file",
    ]
    assert not (tmp_path / "data" / "CURRENT").exists()


def test_dev_zero_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    done = numlookup(tmp_path / "data", "import", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr == (
        "numlookup: /dev/zero:0: larger than 256 MB, far beyond any real registry file: refused unread\n"
    )
    done = numlookup(tmp_path / "data", "import", str(FIXTURES))
    assert done.returncode == 0, done.stderr
    done = numlookup(tmp_path / "data", "import-mnp", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr.startswith("numlookup: /dev/zero:1: not an MNP file: unexpected header")
    assert done.stderr.count("\n") == 1


def test_an_endless_mnp_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    assert numlookup(tmp_path / "data", "import", str(FIXTURES)).returncode == 0
    mnp = tmp_path / "mnp"
    mnp.mkdir()
    (mnp / "Port_Increment_20260102_000001.csv").write_bytes(
        PORT_HEADER.encode() + b"\n1,9170000001" + b"7" * (2 << 20)
    )
    (mnp / "Operators_20260101.csv").write_bytes(
        b"OrgCode,MNC,TIN,OrgName,RowCount\nmMTS,01,7740000076,\xd0\x9c\xd0\xa2\xd0\xa1\x98,1\n"
    )
    done = numlookup(tmp_path / "data", "import-mnp", str(mnp))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr == (
        f"numlookup: {mnp / 'Operators_20260101.csv'}:2: byte 0x98 at byte 58 is neither UTF-8 nor cp1251\n"
    )
    (mnp / "Operators_20260101.csv").write_text(
        "OrgCode,MNC,TIN,OrgName,RowCount\nmMTS,01,7740000076,МТС,1\n", encoding="utf-8"
    )
    done = numlookup(tmp_path / "data", "import-mnp", str(mnp))
    assert done.returncode == 2
    assert done.stderr == (
        f"numlookup: {mnp / 'Port_Increment_20260102_000001.csv'}:2: a line longer than 65,536 bytes: "
        "not an MNP file\n"
    )
