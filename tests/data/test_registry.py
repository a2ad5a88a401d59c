"""The registry readers over every generation: the real files in tests/realdata and hand-made ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.conftest import FIXTURES, REAL_DEF, ROSSVYAZ
from worker.data.formats.registry import read_registry
from worker.errors import MalformedInput

HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"


@pytest.mark.parametrize(
    ("relative", "rows", "first"),
    [
        (
            "DEF-9xx.csv",
            17_059,
            (9000000000, 9000061999, 'ООО "Т2 МОБАЙЛ"', "Краснодарский край", "7743895280"),
        ),
        (
            "snapshots/2026-04-20/DEF-9xx.csv",
            16_629,
            (9000000000, 9000061999, 'ООО "Т2 МОБАЙЛ"', "Краснодарский край", "7743895280"),
        ),
        (
            "historical/2023-07-23_7col/DEF-9xx.csv",
            9_853,
            (9000000000, 9000061999, 'ООО "Т2 Мобайл"', "Краснодарский край", "7743895280"),
        ),
        (
            "historical/2020-08-31_6col/DEF-9xx.csv",
            7_931,
            (9000000000, 9000061999, 'ООО "Т2 Мобайл"', "Краснодарский край", ""),
        ),
        (
            "historical/2014-11-18_cp1251/Kody_DEF-9kh.csv",
            66_002,
            (9000000000, 9000099999, "Телеком Евразия", "Краснодарский край", ""),
        ),
        (
            "historical/2014-11-18_cp1251/Kody_ABC-3kh.csv",
            19_702,
            (3012100000, 3012109999, "АСВТ(Москва)", "Улан - Удэ |Республика Бурятия", ""),
        ),
        ("historical/2014-11-18_cp1251/Kody_ABC-8kh.csv", 49_344, None),
    ],
)
def test_every_generation_reads(relative: str, rows: int, first: tuple[object, ...] | None) -> None:
    read = list(read_registry(ROSSVYAZ / relative))
    assert len(read) == rows
    if first is not None:
        assert read[0][:5] == first
    assert all(row.start <= row.end for row in read)


def test_region_dash_falls_back_to_gar() -> None:
    first = next(read_registry(REAL_DEF))
    assert first.region == "Краснодарский край"  # Регион is "-" on this row
    assert (first.code, first.line) == (900, 2)


def test_cp1251_csv_quoted_names_are_unquoted() -> None:
    names = {
        row.operator for row in read_registry(ROSSVYAZ / "historical/2014-11-18_cp1251/Kody_ABC-3kh.csv")
    }
    assert 'Красноярское конструкторское бюро "Искра"' in names
    assert '"Ноябрьскнефтегазсвязь"' in names  # written """Ноябрьскнефтегазсвязь""" in the file
    assert not any('""' in name for name in names)


def test_hand_made_abc_files_bom_crlf_and_tabs() -> None:
    rows = list(read_registry(FIXTURES / "ABC-3xx.csv"))  # no BOM, a tab-padded region
    assert rows[1].region == "Красноярский край"
    assert rows[0].region == "г. Норильск|Красноярский край"
    crlf = list(read_registry(FIXTURES / "ABC-8xx.csv"))  # BOM and CRLF line ends
    assert [(row.start, row.inn) for row in crlf] == [(8001000000, "7707049388"), (8032000000, "7705017253")]
    dash = [row for row in read_registry(FIXTURES / "ABC-4xx.csv") if row.start == 4959901000]
    assert dash[0].region == "Город Москва, Московская область"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('495;1000000;1000999;1000;ООО "А";г. Москва;г. Москва', "7 fields, expected 8"),
        ('495;10000x0;1000999;1000;ООО "А";г. Москва;г. Москва;7707049388', "must be numbers"),
        ('495;1000000;1000999;999;ООО "А";г. Москва;г. Москва;7707049388', "Емкость 999"),
        ('495;1000999;1000000;0;ООО "А";г. Москва;г. Москва;7707049388', "bad range"),
        ('495;1000000;1000999;1000;ООО "А";г. Москва;г. Москва;77070', "ИНН '77070'"),
        ("495;1000000;1000999;1000;;г. Москва;г. Москва;7707049388", "empty operator"),
    ],
)
def test_malformed_row_reports_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    path = tmp_path / "ABC-4xx.csv"
    good = '495;2000000;2000999;1000;ООО "А";г. Москва;г. Москва;7707049388'
    path.write_text(f"{HEADER}\n{good}\n{row}\n{good}\n", encoding="utf-8")
    with pytest.raises(MalformedInput) as caught:
        list(read_registry(path))
    assert caught.value.path == path
    assert caught.value.line == 3
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}:3: ")


def test_unknown_header_is_line_one(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("id;price\n1;2\n", encoding="utf-8")
    with pytest.raises(MalformedInput, match=r"prices.csv:1: not a numbering-registry file"):
        list(read_registry(path))
