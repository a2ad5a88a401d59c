"""History: versions, rollback, and the diff between two small versions."""

from __future__ import annotations

import json

import pytest

from tests.update.versions import publish_version
from worker.answer.model import GEOGRAPHIC, Allocation, Operator
from worker.cli.main import main
from worker.data.dataset.store import LocalStore
from worker.data.updates import history
from worker.errors import DataError

MTS = Operator("7740000076", 'ПАО "МТС"', "МТС")
T2 = Operator("7743895280", 'ООО "Т2 МОБАЙЛ"', "Т2")
T2_RENAMED = Operator("7743895280", 'ООО "Т2 Мобайл"', "Т2")  # same ИНН, new spelling: not a move
MEGAFON = Operator("7812014560", 'ПАО "МЕГАФОН"', "МегаФон")

OLD = [
    (9000000000, 9000061999, T2, "Краснодарский край"),  # unchanged (operator respelled)
    (9000062000, 9000062999, T2, "Ростовская обл."),  # region changes
    (9170000000, 9170999999, MTS, "Республика Башкортостан"),  # moves to MegaFon
    (9171000000, 9171999999, MTS, "Республика Башкортостан"),  # removed
    (9172000000, 9172999999, MTS, "Свердловская обл."),  # respelled only: unchanged
    (9261000000, 9261999999, MEGAFON, "г. Москва"),  # split in two: 1 removed, 2 added
]
NEW = [
    (9000000000, 9000061999, T2_RENAMED, "Краснодарский край"),
    (9000062000, 9000062999, T2_RENAMED, "Краснодарский край"),
    (9170000000, 9170999999, MEGAFON, "Республика Башкортостан"),
    (9172000000, 9172999999, MTS, "Свердловская область"),
    (9261000000, 9261499999, MEGAFON, "г. Москва"),
    (9261500000, 9261999999, MTS, "г. Москва"),
    (9990000000, 9990009999, T2_RENAMED, "г. Москва"),  # added
]


@pytest.fixture
def two_versions(store: LocalStore) -> tuple[str, str]:
    old = publish_version(store, OLD).version
    new = publish_version(store, NEW).version
    return old, new


def test_diff_counts_each_kind_of_change_by_operator(
    store: LocalStore, two_versions: tuple[str, str]
) -> None:
    old, new = two_versions
    report = history.diff_versions(store, old, new)
    assert (report.old_ranges, report.new_ranges, report.unchanged, report.region_respelled) == (6, 7, 2, 1)
    mts, t2, megafon = (f"{op.name} ({op.inn})" for op in (MTS, T2_RENAMED, MEGAFON))
    assert dict(report.removed.ranges) == {mts: 1, megafon: 1}
    assert report.removed.total_numbers == 2_000_000
    assert dict(report.added.ranges) == {megafon: 1, mts: 1, t2: 1}
    assert report.added.numbers[t2] == 10_000
    assert dict(report.operator_moved.ranges) == {f"{mts} → {megafon}": 1}
    assert dict(report.region_moved.ranges) == {t2: 1}
    assert report.region_moved.total_numbers == 1000


def test_diff_of_a_version_with_itself_is_empty(store: LocalStore, two_versions: tuple[str, str]) -> None:
    report = history.diff_versions(store, two_versions[1], two_versions[1])
    assert report.unchanged == 7
    assert report.added.total_ranges == report.removed.total_ranges == report.operator_moved.total_ranges == 0


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("г. Москва и Московская область", "Город Москва, Московская область"),
        ("Москва и Московская область", "г. Москва и Московская область"),
        ("Ханты - Мансийский - Югра АО", "Ханты-Мансийский автономный округ - Югра"),
        ("Свердловская обл.", "Свердловская область"),
    ],
)
def test_respellings_share_a_region_key(one: str, other: str) -> None:
    assert history.region_key(one) == history.region_key(other)


def test_different_regions_keep_different_keys() -> None:
    assert history.region_key("Самарская обл.") != history.region_key("Республика Мордовия")
    assert history.region_key("Республика Крым и г. Севастополь") != history.region_key("Республика Крым")


def test_diff_refuses_unsorted_input() -> None:
    def allocation(start: int) -> Allocation:
        return Allocation("900", start, start + 9, MTS, "г. Москва", GEOGRAPHIC)

    with pytest.raises(DataError, match="not sorted"):
        history.diff_ranges([allocation(20), allocation(10)], [], old_name="a", new_name="b")


def test_diff_command_defaults_to_previous_vs_current(
    store: LocalStore, two_versions: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(store.root), "data", "diff"]) == 0
    text = capsys.readouterr().out
    old, new = two_versions
    assert text.startswith(
        f"{old} → {new}\nranges: 6 → 7 (+1); unchanged 2 (of which 1 with the region respelled)\n"
    )
    assert "added: 3 ranges, 1,010,000 numbers" in text
    assert '      1 ranges     1,000,000 numbers  ПАО "МТС" (7740000076) → ПАО "МЕГАФОН" (7812014560)' in text
    assert main(["--data-dir", str(store.root), "data", "diff", old, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["moved_region"]["by_operator"] == [
        {"key": 'ООО "Т2 Мобайл" (7743895280)', "ranges": 1, "numbers": 1000}
    ]


def test_rollback_goes_back_one_and_versions_lists_them(
    store: LocalStore, two_versions: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = two_versions
    assert main(["--data-dir", str(store.root), "data", "versions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[:2] for line in lines] == ["  ", "* "]
    assert lines[1].startswith(f"* {new}")
    assert "7 ranges" in lines[1]
    assert main(["--data-dir", str(store.root), "data", "rollback"]) == 0
    assert store.current_version() == old
    assert f"{old} now serving" in capsys.readouterr().out
    assert main(["--data-dir", str(store.root), "data", "rollback"]) == 2  # nothing older kept
    assert "oldest version kept" in capsys.readouterr().err
    assert store.current_version() == old


def test_history_keeps_the_last_n(store: LocalStore) -> None:
    made = [publish_version(store, OLD, keep=3).version for _ in range(5)]
    assert store.versions() == made[-3:]


def test_unknown_version_names_the_kept_ones(store: LocalStore, two_versions: tuple[str, str]) -> None:
    with pytest.raises(DataError, match=f"matches no kept version.*{two_versions[0]}"):
        history.resolve(store, "1999")
