"""MNP import: synthetic snapshot + increments checked against a plain-Python model; bad files refused."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from worker.answer.model import RussianAnswer
from worker.data.dataset.format import Dataset
from worker.data.dataset.store import LocalStore
from worker.data.formats.mnp import discover
from worker.data.importer.mnp import import_mnp
from worker.data.synthetic.mnp import gen_mnp, mobile_ranges
from worker.data.updates.mnpsync import scan
from worker.errors import DataError, MalformedInput
from worker.lookup.engine import LookupEngine

OPERATORS = (
    "OrgCode,MNC,TIN,OrgName,RowCount\n"
    'mMTS,01,7740000076,"ПАО ""МТС""",4\n'
    'mMEGAFON,02,7812014560,"ПАО ""МегаФон""",\n'
    'mTELE2,20,7743895280,"ООО ""Т2 Мобайл""",\n'
    'mNEWCO,77,7700000000,"ООО ""НОВАЯ СВЯЗЬ""",\n'
)
PORT_ALL = "Number,OwnerId,MNC,Route,RegionCode,PortDate,RowCount\n"


def model(files: list[Path], dataset: Dataset) -> dict[int, str]:
    """What the files (in the order they apply) say, computed the slow obvious way: number → recipient ИНН."""
    inn_of: dict[str, str] = {}
    ported: dict[int, str] = {}
    for path in files:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                text = archive.read(archive.namelist()[0]).decode()
        else:
            text = path.read_text(encoding="utf-8")
        rows = list(csv.DictReader(text.splitlines()))
        if path.name.startswith("Operators"):
            inn_of.update({row["OrgCode"]: row["TIN"] for row in rows})
        elif path.name.startswith("Port_All"):
            ported = {int(row["Number"]): inn_of[row["OwnerId"]] for row in rows}
        elif path.name.startswith("Port_Increment"):
            ported.update({int(row["Number"]): inn_of[row["RecipientId"]] for row in rows})
        else:
            for row in rows:
                ported.pop(int(row["Number"]), None)
    result = {}
    for number, inn in ported.items():
        allocation = dataset.allocation(number)
        if allocation is not None and allocation.operator.inn != inn:
            result[number] = inn
    return result


def recipient_inn(dataset: Dataset, number: int) -> str | None:
    operator = dataset.recipient(number)
    return None if operator is None else operator.inn


def generate(store: LocalStore, outdir: Path, numbers: int, increments: int) -> list[Path]:
    dataset = store.open()
    ranges = mobile_ranges(dataset.range_array(), [operator.inn for operator in dataset.operators])
    return gen_mnp(outdir, ranges, numbers=numbers, increments=increments, seed=7)


def test_snapshot_and_increments_match_the_model(registry_store: LocalStore, tmp_path: Path) -> None:
    files = generate(registry_store, tmp_path / "mnp", 20_000, 2)
    assert [path.name for path in files][:2] == ["Operators_20260801.csv", "Port_All_20260801.zip"]
    meta = import_mnp(registry_store, [tmp_path / "mnp"], keep=3)
    dataset = registry_store.open()
    expected = model(files, dataset)
    assert 19_000 < meta.ported == len(expected) == dataset.ported_count
    mentioned = set(expected)
    for path in files[2:]:
        mentioned |= {int(row["Number"]) for row in csv.DictReader(path.read_text().splitlines())}
    assert {n: recipient_inn(dataset, n) for n in mentioned} == {n: expected.get(n) for n in mentioned}
    assert len(meta.mnp_sources) == 6


def test_names_and_headers_tell_the_same_kinds_in_the_same_order(
    registry_store: LocalStore, tmp_path: Path
) -> None:
    generate(registry_store, tmp_path / "mnp", 1_000, 2)
    by_header = discover([tmp_path / "mnp"])  # the importer reads each file's header
    by_name = scan(tmp_path / "mnp")  # mnp-sync decides by the name, before reading
    assert [(file.path, file.kind) for file in by_header] == [(file.path, file.kind) for file in by_name]
    assert [file.kind for file in by_name] == [
        "operators",
        "snapshot",
        *["port_increment", "return_increment"] * 2,
    ]


def test_increments_build_on_the_current_version(registry_store: LocalStore, tmp_path: Path) -> None:
    files = generate(registry_store, tmp_path / "mnp", 5_000, 2)
    import_mnp(registry_store, files[:2], keep=3)  # Operators + snapshot
    import_mnp(registry_store, files[2:4], keep=3)  # then the first day's increments
    import_mnp(registry_store, files[4:], keep=3)  # and the second day's
    dataset = registry_store.open()
    expected = model(files, dataset)
    assert dataset.ported_count == len(expected)
    assert all(recipient_inn(dataset, number) == inn for number, inn in expected.items())


def test_plain_snapshot_equals_zipped(registry_store: LocalStore, tmp_path: Path) -> None:
    files = generate(registry_store, tmp_path / "mnp", 3_000, 0)
    with zipfile.ZipFile(files[1]) as archive:
        archive.extractall(tmp_path / "plain")
    import_mnp(registry_store, files, keep=3)
    zipped = registry_store.open()
    import_mnp(registry_store, [files[0], tmp_path / "plain"], keep=3)
    plain = registry_store.open()
    assert plain.ported_count == zipped.ported_count > 2_900
    assert (plain.ported_arrays()[0] == zipped.ported_arrays()[0]).all()
    assert (plain.ported_arrays()[1] == zipped.ported_arrays()[1]).all()


def write(directory: Path, name: str, text: str, newline: str = "\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def test_ported_number_answers_recipient_and_old_operator(registry_store: LocalStore, tmp_path: Path) -> None:
    mnp = tmp_path / "mnp"
    write(mnp, "Operators.csv", OPERATORS)
    snapshot = (
        PORT_ALL + "9170415564,mMEGAFON,02,D0277,02,2026-08-01T12:00:00+03:00,3\n"
        "9170415565,mMTS,01,D0102,02,2026-08-01T12:00:00+03:00,\n"  # back at its holder: not ported
        "9170415566,mNEWCO,77,D7777,02,2026-08-01T12:00:00+03:00,\n"
    )
    write(mnp, "Port_All_20260801.csv", snapshot, newline="\r\n")
    meta = import_mnp(registry_store, [mnp], keep=3)
    assert meta.ported == 2
    engine = LookupEngine(registry_store.open())
    ported = engine.lookup_now("79170415564")
    assert isinstance(ported, RussianAnswer)
    assert (ported.operator.brand, ported.old_operator and ported.old_operator.brand) == ("МегаФон", "МТС")
    assert ported.allocation.region == "Республика Башкортостан"
    back = engine.lookup_now("79170415565")
    assert isinstance(back, RussianAnswer)
    assert back.ported_to is None
    newco = engine.lookup_now("79170415566")
    assert isinstance(newco, RussianAnswer)
    # A TIN the registry does not know becomes an operator named from the Operators file.
    assert (newco.operator.inn, newco.operator.name, newco.operator.brand) == (
        "7700000000",
        'ООО "Новая Связь"',
        "Новая Связь",
    )


def test_owner_missing_from_operators_falls_back_to_mnc(registry_store: LocalStore, tmp_path: Path) -> None:
    mnp = tmp_path / "mnp"
    write(mnp, "Operators.csv", OPERATORS)
    write(mnp, "Port_All.csv", PORT_ALL + "9170415564,mRENAMED,02,D0277,02,2026-08-01T12:00:00+03:00,1\n")
    import_mnp(registry_store, [mnp], keep=3)
    assert recipient_inn(registry_store.open(), 9170415564) == "7812014560"


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        ("9170415564,mMTS,01,D1,02,2026-08-01T12:00:00+03:00,3\n", 3, "RowCount says 3 rows, the file has 1"),
        ("917041556,mMTS,01,D1,02,2026-08-01T12:00:00+03:00,1\n", 2, "Number '917041556' is not 10 digits"),
        ("9170415564,mMTS,01,D1,02,x,1\n9170415a65,mMTS\n", 3, "is not 10 digits"),
        ("9170415564,mMTS,01,D1,02,x,2\n9170415565\n", 3, "fewer than 2 fields"),
        ("9170415564,mNOBODY,99,D1,02,x,1\n", 2, "owner 'mNOBODY' is in no Operators file"),
        ("9170415564,mMTS,01,D1,02,x,many\n", 2, "RowCount 'many' is not a number"),
        ("", 2, "the snapshot has no rows"),
        ("9170415564\n9170415565\n", 2, "fewer than 2 fields"),
    ],
)
def test_malformed_mnp_file_reports_line_and_keeps_serving(
    registry_store: LocalStore, tmp_path: Path, rows: str, line: int, reason: str
) -> None:
    before = registry_store.current_version()
    mnp = tmp_path / "mnp"
    write(mnp, "Operators.csv", OPERATORS)
    path = write(mnp, "Port_All.csv", PORT_ALL + rows)
    with pytest.raises(MalformedInput) as caught:
        import_mnp(registry_store, [mnp], keep=3)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert reason in caught.value.reason
    assert registry_store.current_version() == before
    assert not any((registry_store.root / "tmp").iterdir())


def test_not_an_mnp_file(registry_store: LocalStore, tmp_path: Path) -> None:
    path = write(tmp_path, "prices.csv", "Item,Price\n1,2\n")
    with pytest.raises(MalformedInput, match="not an MNP file"):
        import_mnp(registry_store, [path], keep=3)


def test_mnp_needs_a_registry_first(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="import the registry first"):
        import_mnp(store, [write(tmp_path, "Operators.csv", OPERATORS)], keep=3)


def test_broken_zip_is_reported(registry_store: LocalStore, tmp_path: Path) -> None:
    path = write(tmp_path, "Port_All.zip", "not a zip")
    with pytest.raises(MalformedInput, match="not a readable zip file"):
        import_mnp(registry_store, [path], keep=3)


def test_port_all_full_and_numbers_outside_the_registry(registry_store: LocalStore, tmp_path: Path) -> None:
    mnp = tmp_path / "mnp"
    write(mnp, "Operators.csv", OPERATORS)
    header = PORT_ALL.strip() + ",NPId,DonorId,RangeHolderId,OldRoute,OldMNC,ProcessType\n"
    rows = (
        "9170415564,mTELE2,20,D1,02,2026-08-01T12:00:00+03:00,2,17,mMTS,mMTS,D2,01,1\n"
        "9070000001,mTELE2,20,D1,02,2026-08-01T12:00:00+03:00,,18,mMTS,mMTS,D2,01,1\n"  # 907: no range
    )
    with zipfile.ZipFile(mnp / "Port_All_Full_20260801.zip", "w") as archive:
        archive.writestr("Port_All_Full_20260801.csv", header + rows)
    meta = import_mnp(registry_store, [mnp], keep=3)
    assert meta.ported == 1
    assert recipient_inn(registry_store.open(), 9170415564) == "7743895280"


def test_one_zip_holding_operators_and_snapshot(registry_store: LocalStore, tmp_path: Path) -> None:
    path = tmp_path / "bdpn_20260801.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Port_All_20260801.csv", PORT_ALL + "9170415564,mTELE2,20,D1,02,x,1\n")
        archive.writestr("Operators_20260801.csv", OPERATORS)
    meta = import_mnp(registry_store, [path], keep=3)
    assert meta.mnp_sources == [f"{path}:Operators_20260801.csv", f"{path}:Port_All_20260801.csv"]
    assert recipient_inn(registry_store.open(), 9170415564) == "7743895280"
