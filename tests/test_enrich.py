"""``numlookup enrich``: CSV (cp1251, UTF-8 with and without BOM, any delimiter) and XLSX in, every row out
with the engine's answers added; broken rows kept."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from worker.answer.table import COLUMNS, columns
from worker.answer.voxlink import v1_body, v2_body
from worker.cli import sheets
from worker.cli.enrich import enrich_file
from worker.cli.main import main
from worker.errors import InvalidNumber
from worker.lookup.batch import BatchLookup, russian_nationals
from worker.lookup.engine import LookupEngine
from worker.numbers import is_russian, parse

# the small dataset's numbers (tests/conftest.py): ported, unported, fixed line, foreign, Kazakh, bad
NUMBERS = [
    "+7 917 000-00-01",  # ported: МТС → МегаФон
    "89261234567",  # ported: МегаФон → МТС
    "79170415564",  # МТС, never ported
    "(495) 989-85-33",  # Ростелеком, fixed line, 10 digits
    "79991234567",  # Russian, in no range
    "+77012345678",  # Kazakhstan
    "+358181201235",  # Åland
    "+12125551234",
    "abc",
    "",
]


def outcome(engine: LookupEngine, raw: str) -> object:
    try:
        return engine.lookup_now(raw)
    except InvalidNumber as error:
        return error


def read(path: Path, encoding: str = "utf-8", delimiter: str = ";") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as source:
        return list(csv.reader(source, delimiter=delimiter))


def test_cp1251_file_with_a_broken_row(tmp_path: Path, data_dir: Path) -> None:
    lines = [
        "Имя;Телефон;Комментарий",
        'Иван;+7 917 000-00-01;"перезвонить; вечером"',
        'Пётр;89261234567;"сломано',  # an unclosed quote: would swallow the rows below
        "Анна;79000000000;ёлка",
        "Семён;79170415564",  # a field short
        "Ольга",  # no phone cell at all
        "Олег;abc;",
        "Мария;77012345678;лишнее;поле",  # a field more than the header
    ]
    source = tmp_path / "crm.csv"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    assert main(["--data-dir", str(data_dir), "enrich", str(source)]) == 0
    target = tmp_path / "crm.enriched.csv"
    raw = target.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # written back in cp1251, as it came
    rows = read(target, "cp1251")
    assert rows[0] == ["Имя", "Телефон", "Комментарий", *COLUMNS]
    assert len(rows) == len(lines)  # no row dropped, none merged
    assert [row[0] for row in rows] == [line.split(";")[0] for line in lines]
    added = {row[0]: dict(zip(COLUMNS, row[3:13], strict=True)) for row in rows[1:]}
    assert rows[1][2] == "перезвонить; вечером"
    assert added["Иван"]["operator"] == "МегаФон"
    assert (added["Иван"]["old_operator"], added["Иван"]["ported"]) == ("МТС", "1")
    assert added["Пётр"]["error"].startswith("broken quoting")
    assert (added["Пётр"]["operator"], added["Пётр"]["valid"]) == ("МТС", "1")  # the number still read
    assert added["Анна"]["region"] == "Краснодарский край"
    assert added["Анна"]["timezone"] == "Europe/Moscow"
    assert rows[4][:3] == ["Семён", "79170415564", ""]  # padded to the header's width
    assert added["Семён"]["region"] == "Республика Башкортостан"
    assert added["Семён"]["timezone"] == "Asia/Yekaterinburg"
    assert (added["Ольга"]["valid"], added["Ольга"]["error"]) == ("0", "no phone column in this row")
    assert (added["Олег"]["valid"], added["Олег"]["error"]) == ("0", "not a phone number")
    assert added["Мария"]["country"] == "KZ"
    assert rows[-1][:3] == ["Мария", "77012345678", "лишнее"]
    assert rows[-1][13:] == ["поле"]  # past the header's width: kept, after the added columns


def test_answers_are_the_engines(tmp_path: Path, engine: LookupEngine) -> None:
    source = tmp_path / "numbers.csv"
    source.write_text("phone\n" + "\n".join(f'"{number}"' for number in NUMBERS) + "\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    assert enrich_file(engine, source, target) == len(NUMBERS)
    rows = read(target, delimiter=";")
    for number, row in zip(NUMBERS, rows[1:], strict=True):
        answer = outcome(engine, number)
        assert tuple(row[1:]) == columns(answer)  # type: ignore[arg-type]
        status, body = v1_body(number, answer)  # type: ignore[arg-type]
        got = dict(zip(COLUMNS, row[1:], strict=True))
        if status == 200:
            assert got["operator"] == body["operator"]
            assert got["old_operator"] == body.get("old_operator", "")
            assert body["region"].endswith(got["region"])
        else:
            _, v2 = v2_body(number, answer)  # type: ignore[arg-type]
            assert got["country"] == v2.get("flag_iso", "")
            assert got["timezone"] == v2.get("timezone", "")


def test_batch_lookup_equals_one_by_one(engine: LookupEngine) -> None:
    numbers = [*NUMBERS, *(f"7917000{n:04d}" for n in range(50)), "79000000000", "79261234567"] * 3
    batch = BatchLookup(engine).run(numbers)
    assert batch == [columns(outcome(engine, number)) for number in numbers]  # type: ignore[arg-type]


def test_utf8_with_bom_comma_and_a_multiline_note(tmp_path: Path, engine: LookupEngine) -> None:
    source = tmp_path / "export.csv"
    text = 'id,note,mobile\r\n1,"line one\r\nline two",79170415564\r\n2,,89261234567\r\n'
    source.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    target = tmp_path / "export.enriched.csv"
    enrich_file(engine, source, target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=","))
    assert rows[0] == ["id", "note", "mobile", *COLUMNS]
    assert rows[1][:3] == ["1", "line one\r\nline two", "79170415564"]
    assert rows[1][3] == "МТС"
    assert rows[2][3] == "МТС"  # 89261234567, ported to МТС


def test_tab_separated_without_header_finds_the_phone_column(tmp_path: Path, engine: LookupEngine) -> None:
    source = tmp_path / "plain.tsv"
    source.write_text("Иван\t79170415564\t5\nПётр\t+7 926 123 45 67\t3\n", encoding="utf-8")
    target = tmp_path / "plain.csv"
    enrich_file(engine, source, target)
    rows = read(target, delimiter="\t")
    assert len(rows) == 2  # no header in, none out
    assert rows[0][:3] == ["Иван", "79170415564", "5"]
    assert rows[0][3] == "МТС"
    assert rows[1][3] == "МТС"


def test_column_by_name_or_number(tmp_path: Path, engine: LookupEngine) -> None:
    source = tmp_path / "two.csv"
    source.write_text("office;cell\n74959898533;79170415564\n", encoding="utf-8")
    for wanted, operator in (("cell", "МТС"), ("1", "Ростелеком"), (None, "Ростелеком")):
        target = tmp_path / f"two-{wanted}.csv"
        enrich_file(engine, source, target, column=wanted)
        assert read(target)[1][2] == operator, wanted


def test_xlsx(tmp_path: Path, data_dir: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Клиент", "Телефон"])
    sheet.append(["Иван", 79170415564])  # a number cell, as Excel stores it
    sheet.append(["Пётр", "+7 926 123-45-67"])
    sheet.append(["Анна", None])
    source = tmp_path / "crm.xlsx"
    book.save(source)
    (tmp_path / "out").mkdir()
    assert main(["--data-dir", str(data_dir), "enrich", str(source), "-o", str(tmp_path / "out")]) == 0
    raw = (tmp_path / "out" / "crm.enriched.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["Клиент", "Телефон", *COLUMNS]
    assert rows[1][:3] == ["Иван", "79170415564", "МТС"]
    assert rows[2][2] == "МТС"
    assert rows[3][-2:] == ["0", "empty"]


def test_errors_are_one_line(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def enrich(*args: str) -> int:
        return main(["--data-dir", str(data_dir), "enrich", *args])

    assert enrich(str(tmp_path / "missing.csv")) == 2
    assert "no such file" in capsys.readouterr().err
    words = tmp_path / "words.csv"
    words.write_text("a;b\nx;y\n", encoding="utf-8")
    assert enrich(str(words)) == 2
    assert "--column" in capsys.readouterr().err
    assert not (tmp_path / "words.enriched.csv").exists()
    assert enrich(str(words), "--column", "nope") == 2
    assert "no column 'nope'" in capsys.readouterr().err
    not_xlsx = tmp_path / "fake.xlsx"
    not_xlsx.write_text("not a zip", encoding="utf-8")
    assert enrich(str(not_xlsx)) == 2
    assert "cannot read as XLSX" in capsys.readouterr().err
    phones = tmp_path / "phones.csv"
    phones.write_text("phone\n79170415564\n", encoding="utf-8")
    assert enrich(str(phones), "-o", str(tmp_path / "no" / "such" / "dir.csv")) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_many_rows_stream_in_batches(tmp_path: Path, engine: LookupEngine) -> None:
    source = tmp_path / "big.csv"
    count = 45_000  # more than two batches
    with open(source, "w", encoding="utf-8") as out:
        out.write("n;phone\n")
        for n in range(count):
            out.write(f"{n};7917{n % 1000:07d}\n")
    target = tmp_path / "big.out.csv"
    assert enrich_file(engine, source, target) == count
    rows = read(target)
    assert len(rows) == count + 1
    assert rows[-1][0] == str(count - 1)
    assert {row[2] for row in rows[1:]} == {"МТС", "МегаФон"}  # 79170000001 is ported to МегаФон


def test_the_vectorised_parse_agrees_with_parse() -> None:
    cells = [
        "79170415564", "89170415564", "+79170415564", " +7 (917) 041-55-64 ", "8 917 041 55 64", "9170415564",
        "917.041.55.64", "+89170415564", "+9170415564", "0079170415564", "0017185551234", "00917041556",
        "81079170415564", "77012345678", "+77012345678", "87012345678", "76012345678", "7012345678",
        "\u00a079170415564", "7917041556\u00a04", "79170415564\x00",
        "\u0667\u0669\u0661\u0667\u0660\u0664\u0661\u0665\u0665\u0666\u0664",  # Arabic-Indic digits
        "7917041556", "791704155644", "", " ", "+", "abc", "7-9-1-7-0-4-1-5-5-6-4", "+7 917 041 55 64 доб. 1",
        "+7 (917) 041-55-64                 ", "7917 0415564\t", "(8)9170415564", "70000000000",
        "80000000000", " + 7 917 041 55 64", "\t+79170415564", "+ 8 917 041 55 64", "7917041556+4",
        "++79170415564", "\u00a0+7\u00a0917\u00a00415564", "\n79170415564", "0091704155640",
    ]  # fmt: skip
    fast = russian_nationals(cells).tolist()
    for cell, national in zip(cells, fast, strict=True):
        try:
            digits = parse(cell)
        except InvalidNumber:
            digits = ""
        expected = int(digits) - 70_000_000_000 if is_russian(digits) else None
        if national >= 0:
            assert national == expected, cell
        else:  # left to parse(): fine, as long as the plain forms are not
            assert cell.strip() not in ("79170415564", "89170415564", "+79170415564", "9170415564"), cell
    assert fast[0] == fast[1] == fast[2] == fast[3] == fast[4] == fast[5] == 9170415564


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_quoted_fields_across_blocks_and_a_runaway_quote(
    tmp_path: Path, engine: LookupEngine, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(sheets, "BLOCK", block)  # blocks of a few lines: records cross their ends
    lines = ["name;phone;note"]
    lines += [f'n{n};79170415564;"note {n}\r\nsecond line"' for n in range(5)]
    lines += ['broken;79261234567;"never closed']
    lines += [f"m{n};79000000000;fine" for n in range(sheets.MAX_RECORD_LINES + 20)]
    source = tmp_path / "blocks.csv"
    source.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")
    target = tmp_path / "blocks.out.csv"
    rows_in = 1 + 5 + 1 + sheets.MAX_RECORD_LINES + 20
    assert enrich_file(engine, source, target) == rows_in - 1
    rows = read(target)
    assert len(rows) == rows_in
    assert rows[1][2] == "note 0\r\nsecond line"
    assert rows[5][0] == "n4"
    broken = rows[6]
    assert broken[0] == "broken"
    assert broken[12].startswith("broken quoting")
    assert broken[3] == "МТС"  # 79261234567, read all the same
    assert [row[0] for row in rows[7:]] == [f"m{n}" for n in range(sheets.MAX_RECORD_LINES + 20)]
    assert {row[3] for row in rows[7:]} == {"МТС"}


def test_several_inputs_into_a_directory_and_the_column_by_content(tmp_path: Path, data_dir: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("Номер договора;Контакт\nД-1;79170415564\n", encoding="utf-8")  # "номер", but no phone
    second = tmp_path / "b.csv"
    second.write_text("Телефон\n89261234567\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["--data-dir", str(data_dir), "enrich", str(first), str(second), "-o", str(out)]) == 0
    assert read(out / "a.enriched.csv")[1][:3] == ["Д-1", "79170415564", "МТС"]
    assert read(out / "b.enriched.csv")[1][:2] == ["89261234567", "МТС"]
