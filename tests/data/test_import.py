"""Registry import end to end: published versions, the talk's number, failures leaving old data serving."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import BRANDS, FIXTURES, REAL_DEF, ROSSVYAZ
from worker.answer.model import RussianAnswer
from worker.data.dataset.format import FORMAT
from worker.data.dataset.ported import make_keys
from worker.data.dataset.store import LocalStore
from worker.data.importer.build import MnpCodes, RegistryBuild, publish_build, read_codes
from worker.data.importer.registry import import_registry
from worker.errors import DataError, MalformedInput
from worker.lookup.engine import LookupEngine


def answer(store: LocalStore, number: str) -> RussianAnswer:
    result = LookupEngine(store.open()).lookup_now(number)
    assert isinstance(result, RussianAnswer)
    return result


def test_talk_number_after_importing_the_real_def_file(registry_store: LocalStore) -> None:
    result = answer(registry_store, "79170415564")
    assert result.operator.brand == "МТС"
    assert result.allocation.region == "Республика Башкортостан"
    assert result.allocation.code == "917"
    assert result.old_operator is None


def test_hand_made_abc_answers(registry_store: LocalStore) -> None:
    moscow = answer(registry_store, "84959901234")
    assert (moscow.operator.brand, moscow.allocation.region) == ("ТТК", "г. Москва и Московская область")
    assert moscow.allocation.line_type.id == "FIX"
    ufa = answer(registry_store, "+7 347 250-00-00")
    assert (ufa.operator.brand, ufa.allocation.region) == ("Башинформсвязь", "Республика Башкортостан")
    norilsk = answer(registry_store, "73912000001")
    assert (norilsk.allocation.region, norilsk.allocation.locality) == ("Красноярский край", "г. Норильск")
    local = answer(registry_store, "73912010050")
    assert (local.operator.inn, local.operator.brand) == (
        "0012345678",
        "Городские Телекоммуникационные Системы",
    )
    assert answer(registry_store, "88032000500").allocation.line_type.id == "PRM"


def test_meta_keeps_the_sources(registry_store: LocalStore) -> None:
    meta = registry_store.open().meta
    assert meta.ranges == 17_059 + 4 + 2 + 2
    assert meta.sources[0] == str(REAL_DEF)
    assert {Path(source).name for source in meta.sources[1:]} == {"ABC-3xx.csv", "ABC-4xx.csv", "ABC-8xx.csv"}


@pytest.mark.parametrize(
    "relative",
    [
        "snapshots/2026-04-20/DEF-9xx.csv",
        "historical/2023-07-23_7col/DEF-9xx.csv",
        "historical/2020-08-31_6col/DEF-9xx.csv",
        "historical/2014-11-18_cp1251/Kody_DEF-9kh.csv",
    ],
)
def test_older_generations_import(store: LocalStore, relative: str) -> None:
    import_registry(store, [ROSSVYAZ / relative], brands=BRANDS, keep=2)
    result = answer(store, "79170415564")
    assert result.operator.brand == "МТС"  # the 6-col and cp1251 files have no ИНН: joined by alias
    assert result.operator.inn == "7740000076"
    assert (result.allocation.region, result.allocation.locality) == ("Республика Башкортостан", None)


def test_cp1251_abc_files_import(store: LocalStore) -> None:
    folder = ROSSVYAZ / "historical/2014-11-18_cp1251"
    meta = import_registry(
        store, [folder / "Kody_ABC-3kh.csv", folder / "Kody_ABC-8kh.csv"], brands=BRANDS, keep=2
    )
    assert meta.ranges == 19_702 + 49_344
    ulan_ude = answer(store, "73012100000")
    assert (ulan_ude.allocation.region, ulan_ude.allocation.locality) == ("Республика Бурятия", "Улан - Удэ")
    assert meta.unmapped_rows == 23 + 33  # Байконур; "Сибирский регион" and other macro-regions of 8xx
    assert next(iter(meta.unmapped_regions)) == "Байконур"


def test_malformed_file_publishes_nothing(registry_store: LocalStore, tmp_path: Path) -> None:
    before = registry_store.current_version()
    broken = tmp_path / "ABC-4xx.csv"
    text = (FIXTURES / "ABC-4xx.csv").read_text(encoding="utf-8-sig")
    broken.write_text(text + '499;0000000;0000999;1000;ООО "А";г. Москва\n', encoding="utf-8")
    with pytest.raises(MalformedInput) as caught:
        import_registry(registry_store, [REAL_DEF, broken], brands=BRANDS, keep=3)
    assert (caught.value.path, caught.value.line) == (broken, 6)
    assert registry_store.current_version() == before
    assert registry_store.versions() == [before]
    assert not any((registry_store.root / "tmp").iterdir())  # no scratch left behind
    assert answer(registry_store, "79170415564").operator.brand == "МТС"


def test_overlapping_files_are_refused(store: LocalStore) -> None:
    april = ROSSVYAZ / "snapshots/2026-04-20/DEF-9xx.csv"
    with pytest.raises(MalformedInput, match="overlaps"):
        import_registry(store, [REAL_DEF, april], brands=BRANDS, keep=2)
    assert store.current_version() is None


def test_registry_reimport_carries_ported_numbers_over(registry_store: LocalStore) -> None:
    dataset = registry_store.open()
    index = {operator.inn: number for number, operator in enumerate(dataset.operators)}
    mts, megafon = index["7740000076"], index["7812014560"]
    # 9170415564 is MTS's: ported to MegaFon it stays; ported "to MTS" it is not ported and is dropped.
    keys = np.sort(make_keys(np.array([9170415564, 9170415565], np.uint64), np.array([megafon, mts])))
    build = RegistryBuild(dataset.operators, dataset.regions, dataset.range_array(), dataset.meta.sources)
    publish_build(registry_store, build, keys, MnpCodes(org_codes={"mMTS": "7740000076"}), keep=3)
    assert registry_store.open().ported_count == 2
    # Re-import without the ABC fixtures: operator ids shift (ИНН 0012345678 was first); the number follows.
    meta = import_registry(registry_store, [REAL_DEF], brands=BRANDS, keep=3)
    assert registry_store.open().operators[megafon].inn != "7812014560"
    assert meta.ported == 1
    result = answer(registry_store, "79170415564")
    assert (result.operator.brand, result.old_operator and result.old_operator.brand) == ("МегаФон", "МТС")
    assert read_codes(registry_store.versions_dir / meta.version).org_codes == {"mMTS": "7740000076"}


def test_an_upgrade_from_format_2_keeps_the_ported_numbers(registry_store: LocalStore) -> None:
    """Format 3 changed the ranges, not the ported files: the first registry import after an upgrade carries
    the numbers over, while the old version itself is refused as before."""
    dataset = registry_store.open()
    index = {operator.inn: number for number, operator in enumerate(dataset.operators)}
    keys = make_keys(np.array([9170415564], np.uint64), np.array([index["7812014560"]]))
    build = RegistryBuild(dataset.operators, dataset.regions, dataset.range_array(), dataset.meta.sources)
    old = publish_build(registry_store, build, keys, MnpCodes(org_codes={"mMTS": "7740000076"}), keep=3)
    directory = registry_store.versions_dir / old.version
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    (directory / "meta.json").write_text(json.dumps({**meta, "format": 2}), encoding="utf-8")
    (directory / "localities.json").unlink()  # format 2 had none
    with pytest.raises(DataError, match=f"dataset format 2 is not {FORMAT}: re-import the data"):
        registry_store.open()
    meta_after = import_registry(registry_store, [REAL_DEF], brands=BRANDS, keep=3)
    assert meta_after.ported == 1
    result = answer(registry_store, "79170415564")
    assert (result.operator.brand, result.old_operator and result.old_operator.brand) == ("МегаФон", "МТС")
    assert read_codes(registry_store.versions_dir / meta_after.version).org_codes == {"mMTS": "7740000076"}


def test_progress_is_reported(store: LocalStore) -> None:
    seen: list[tuple[str, int, int]] = []
    import_registry(store, [FIXTURES], brands=BRANDS, keep=2, progress=lambda *event: seen.append(event))
    assert seen[0] == ("read registry", 0, 3)
    assert seen[-1] == ("read registry", 3, 3)


def test_unreadable_current_version_is_replaced_without_carry_over(
    registry_store: LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    meta_path = registry_store.versions_dir / (registry_store.current_version() or "") / "meta.json"
    meta_path.write_text(
        meta_path.read_text().replace(f'"format": {FORMAT}', '"format": 0'), encoding="utf-8"
    )
    meta = import_registry(registry_store, [REAL_DEF], brands=BRANDS, keep=3)
    assert meta.ported == 0
    assert "not carrying ported numbers over" in caplog.text
    assert answer(registry_store, "79170415564").operator.brand == "МТС"
