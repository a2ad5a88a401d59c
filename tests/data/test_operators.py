"""Operators are not carried into a new version unless they hold a range or a ported number."""

from __future__ import annotations

from pathlib import Path

from tests.data.conftest import BRANDS, ROSSVYAZ
from worker.data.dataset.store import LocalStore
from worker.data.importer.mnp import import_mnp
from worker.data.importer.registry import import_registry

HEADER = (
    "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,"
    "OldMNC,NewMNC,RegionCode,PortDate,RowCount"
)
RETURN_HEADER = (
    "NPId,Number,OwnerId,RangeHolderId,RangeHolderMNC,OldRoute,NewRoute,RegionCode,PortDate,RowCount"
)
NEW_INN = "7700000042"  # an operator only the MNP files know, not in any registry
DEF_2020 = "historical/2020-08-31_6col/DEF-9xx.csv"


def operators_of(store: LocalStore) -> set[str]:
    dataset = store.open()
    try:
        return {operator.inn or operator.name for operator in dataset.operators}
    finally:
        dataset.close()


def test_operators_do_not_pile_up_across_registry_generations(tmp_path: Path) -> None:
    fresh = LocalStore(tmp_path / "fresh")
    import_registry(fresh, [ROSSVYAZ / DEF_2020], brands=BRANDS, keep=2)
    piled = LocalStore(tmp_path / "piled")
    folder = ROSSVYAZ / "historical/2014-11-18_cp1251"
    old = [folder / "Kody_ABC-3kh.csv", folder / "Kody_ABC-8kh.csv", folder / "Kody_DEF-9kh.csv"]
    first = import_registry(piled, old, brands=BRANDS, keep=2)
    second = import_registry(
        piled, [ROSSVYAZ / "historical/2020-08-31_6col/DEF-9xx.csv"], brands=BRANDS, keep=2
    )
    assert first.operators > 1000
    assert operators_of(piled) == operators_of(fresh)
    assert second.operators == len(operators_of(fresh))


def test_an_mnp_only_operator_lives_exactly_while_numbers_are_ported_to_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data")
    registry = [ROSSVYAZ / "historical/2023-07-23_7col/DEF-9xx.csv"]
    import_registry(store, registry, brands=BRANDS, keep=5)
    registry_operators = operators_of(store)
    mnp = tmp_path / "mnp"
    mnp.mkdir()
    (mnp / "Operators_20260101.csv").write_text(
        f'OrgCode,MNC,TIN,OrgName,RowCount\nmMTS,01,7740000076,МТС,2\nmNEW,99,{NEW_INN},"ООО ""НОВЫЙ""",\n',
        encoding="utf-8",
    )
    (mnp / "Port_Increment_20260102_000001.csv").write_text(
        f"{HEADER}\n1,9170415564,mNEW,mMTS,mMTS,D0201,D7701,01,99,02,2026-01-02T12:00:00+03:00,1\n",
        encoding="utf-8",
    )
    import_mnp(store, [mnp], keep=5, brands=BRANDS)
    assert operators_of(store) == registry_operators | {NEW_INN}
    import_registry(store, registry, brands=BRANDS, keep=5)  # the number is still ported to it: kept
    assert operators_of(store) == registry_operators | {NEW_INN}
    back = tmp_path / "back"
    back.mkdir()
    (back / "Operators_20260101.csv").write_text((mnp / "Operators_20260101.csv").read_text("utf-8"), "utf-8")
    (back / "Return_Increment_20260103_000001.csv").write_text(
        f"{RETURN_HEADER}\n2,9170415564,mNEW,mMTS,01,D7701,D0201,02,2026-01-03T12:00:00+03:00,1\n",
        encoding="utf-8",
    )
    import_mnp(store, [back], keep=5, brands=BRANDS)
    assert operators_of(store) == registry_operators  # nothing ported to it any more: gone
    import_registry(store, registry, brands=BRANDS, keep=5)
    assert operators_of(store) == registry_operators
