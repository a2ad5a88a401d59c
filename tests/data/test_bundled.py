"""The bundled registry snapshot: what the package carries, importing it into an empty data dir only, and the
provenance (source, publication date) every version records."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import lzma
import os
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.data.conftest import BRANDS, FIXTURES, REAL_DEF
from tests.realdata import ROSSVYAZ
from worker.answer.model import RussianAnswer
from worker.cli.main import main
from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.importer import bundled
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry
from worker.errors import DataError
from worker.lookup.engine import LookupEngine

PACKAGE_DATA = Path(bundled.__file__).resolve().parents[1] / "bundled"


def test_the_description_matches_the_packaged_files() -> None:
    described = bundled.snapshot()
    assert described.published == date(2026, 8, 19)
    assert [item.name for item in described.files] == [
        "DEF-9xx.csv",
        "ABC-3xx-sample.csv",
        "ABC-8xx-sample.csv",
    ]
    for item in described.files:
        data = lzma.decompress((PACKAGE_DATA / f"{item.name}.xz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == item.sha256
        assert data.decode("utf-8-sig").rstrip("\n").count("\n") == item.rows  # the header is not a row
        assert item.official.startswith("https://opendata.digital.gov.ru/downloads/")
    # the same bytes as the tests' copy of the registry, so both stand for one published file
    assert hashlib.sha256(REAL_DEF.read_bytes()).hexdigest() == described.files[0].sha256
    assert described.rows == 17_059 + 856 + 831


def test_a_damaged_copy_is_an_error_not_other_answers(tmp_path: Path) -> None:
    described = bundled.snapshot()
    first = described.files[0]
    wrong = bundled.BundledFile(
        first.name, first.official, first.copied_from, first.complete, first.rows, "0" * 64
    )
    damaged = bundled.Snapshot(described.published, described.portal, (wrong,))
    with pytest.raises(DataError, match=r"DEF-9xx\.csv does not match its SHA-256"):
        bundled.unpack(tmp_path, damaged)


def test_an_empty_store_gets_the_snapshot_answering_by_range(store: LocalStore) -> None:
    meta = bundled.import_bundled(store, brands=BRANDS, keep=5)
    assert meta is not None
    assert (meta.source, meta.published) == ("bundled", date(2026, 8, 19))
    assert meta.ranges == 18_746
    assert meta.sources == ["bundled:DEF-9xx.csv", "bundled:ABC-3xx-sample.csv", "bundled:ABC-8xx-sample.csv"]
    assert list((store.root / "tmp").iterdir()) == []  # nothing left of the build
    engine = LookupEngine(store.open())
    mobile = engine.lookup_now("79170415564")
    assert isinstance(mobile, RussianAnswer)
    assert (mobile.allocation.operator.brand, mobile.allocation.region) == ("МТС", "Республика Башкортостан")
    kazan = engine.lookup_now("78435079000")  # a real ABC sample row: ООО "ТМТ", Казань
    assert isinstance(kazan, RussianAnswer)
    assert (kazan.allocation.operator.inn, kazan.allocation.line_type.id) == ("1655327859", "FIX")


def test_a_store_with_a_dataset_never_gets_the_snapshot(store: LocalStore) -> None:
    imported = import_registry(store, [REAL_DEF], brands=BRANDS, keep=5)
    assert bundled.import_bundled(store, brands=BRANDS, keep=5) is None
    assert store.versions() == [imported.version]
    assert store.current_version() == imported.version


def test_an_import_finished_meanwhile_wins(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``numlookup data import`` that publishes while the snapshot is being built is not replaced."""
    real_import = bundled.import_registry
    imported: list[str] = []

    def import_meanwhile(*args: object, **kwargs: object) -> Meta:
        meta = real_import(*args, **kwargs)  # type: ignore[arg-type]
        imported.append(import_registry(store, [REAL_DEF], brands=BRANDS, keep=5).version)
        return meta

    monkeypatch.setattr(bundled, "import_registry", import_meanwhile)
    assert bundled.import_bundled(store, brands=BRANDS, keep=5) is None
    assert store.current_version() == imported[0]
    assert store.open().meta.source == "imported"


def test_imported_files_are_dated_by_their_modification_time_or_the_date_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "DEF-9xx.csv"
    copy.write_bytes(REAL_DEF.read_bytes())
    july = datetime(2026, 7, 18, 12, tzinfo=UTC).timestamp()
    os.utime(copy, (july, july))
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "data", "import", str(copy)]) == 0
    meta = LocalStore(data).open().meta
    assert (meta.source, meta.published) == ("imported", date(2026, 7, 18))
    assert main(["--data-dir", str(data), "data", "import", "--published", "2026-08-19", str(copy)]) == 0
    assert LocalStore(data).open().meta.published == date(2026, 8, 19)
    capsys.readouterr()
    assert main(["--data-dir", str(data), "data", "status"]) == 0
    status = capsys.readouterr().out
    age = (datetime.now(UTC).date() - date(2026, 8, 19)).days
    assert f"data:      registry of 2026-08-19 from imported files, {age} days old" in status


def test_a_bad_publication_date_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(tmp_path), "data", "import", "--published", "19.08.2026", str(REAL_DEF)])
    assert exit_.value.code == 2
    assert "not a date: '19.08.2026' (expected YYYY-MM-DD)" in capsys.readouterr().err


def test_an_mnp_import_keeps_the_registrys_provenance(store: LocalStore, tmp_path: Path) -> None:
    bundled.import_bundled(store, brands=BRANDS, keep=5)
    increment = tmp_path / "Port_Increment_2026_01_02.csv"
    increment.write_text(
        "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,OldMNC,NewMNC,RegionCode,PortDate,"
        "RowCount\n1,9170000001,mMEGAFON,mMTS,mMTS,D0201,D7701,01,02,02,2026-01-02T12:00:00+03:00,1\n",
        encoding="utf-8",
    )
    operators = tmp_path / "Operators.csv"
    operators.write_text(
        'OrgCode,MNC,TIN,OrgName,RowCount\nmMTS,01,7740000076,"ПАО ""МТС""",2\n'
        'mMEGAFON,02,7812014560,"ПАО ""МЕГАФОН""",\n',
        encoding="utf-8",
    )
    meta = import_mnp(store, [operators, increment], keep=5, brands=BRANDS)
    assert meta.ported == 1
    assert (meta.source, meta.published) == ("bundled", date(2026, 8, 19))


def test_versions_written_before_provenance_count_as_imported_and_dated_by_creation() -> None:
    created = datetime(2026, 9, 1, 23, 30, tzinfo=UTC)
    legacy = Meta("v", created, 1, 0, 1).to_json()
    del legacy["source"], legacy["published"]
    meta = Meta.from_json(json.loads(json.dumps(legacy)))
    assert (meta.source, meta.published, meta.registry_date) == ("imported", None, date(2026, 9, 1))
    assert meta.age_days(date(2026, 10, 1)) == 30
    assert not meta.is_stale(30, date(2026, 10, 1))
    assert meta.is_stale(30, date(2026, 10, 2))
    assert meta.describe(30, date(2026, 10, 2)) == (
        "registry of 2026-09-01 from imported files, 31 days old (stale: older than 30 days)"
    )


def test_the_tests_copy_of_the_samples_is_the_bundled_one() -> None:
    for name in ("ABC-3xx-sample.csv", "ABC-8xx-sample.csv"):
        assert (ROSSVYAZ / "abc-sample" / name).read_bytes() == lzma.decompress(
            (PACKAGE_DATA / f"{name}.xz").read_bytes()
        )
    assert FIXTURES.is_dir()


def test_if_changed_imports_the_same_files_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``make run DATA=...`` twice: the second run finds the same content serving and imports nothing."""
    data = tmp_path / "data"
    files = tmp_path / "registry"
    files.mkdir()
    (files / "DEF-9xx.csv").write_bytes(REAL_DEF.read_bytes())
    assert main(["--data-dir", str(data), "data", "import", "--if-changed", str(files)]) == 0
    first = LocalStore(data).current_version()
    capsys.readouterr()
    copy = tmp_path / "elsewhere.csv"  # another name, the same content: the same registry
    copy.write_bytes(REAL_DEF.read_bytes())
    assert main(["--data-dir", str(data), "data", "import", "--if-changed", str(copy)]) == 0
    assert capsys.readouterr().out == f"dataset {first} already serves these files: nothing imported\n"
    assert LocalStore(data).versions() == [first]
    (files / "ABC-3xx.csv").write_bytes((ROSSVYAZ / "abc-sample" / "ABC-3xx-sample.csv").read_bytes())
    assert main(["--data-dir", str(data), "data", "import", "--if-changed", str(files)]) == 0
    assert LocalStore(data).current_version() != first  # a file more: imported
    assert main(["--data-dir", str(data), "data", "import", "--if-changed", str(tmp_path / "missing")]) == 2
    assert "missing:0: cannot read" in capsys.readouterr().err


def test_the_package_data_patterns_ship_every_bundled_file() -> None:
    """``pip install numlookup`` (wheel or sdist) must carry the snapshot, not only a git checkout."""
    pyproject = tomllib.loads((PACKAGE_DATA.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["worker"]
    for path in PACKAGE_DATA.iterdir():
        relative = path.relative_to(PACKAGE_DATA.parents[1]).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
