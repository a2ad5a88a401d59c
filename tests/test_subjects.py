"""One spelling per federal subject: worker/subjects.py's table, and every registry generation onto it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.realdata import ROSSVYAZ
from tests.realdata.region_report import FILES, markdown, report
from worker import subjects
from worker.data.formats.places import place
from worker.data.formats.registry import read_registry
from worker.subjects import JOINT_AREAS, NATIONWIDE, SUBJECTS, canonical, subject, subjects_of

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data.md"


def test_the_89_subjects_each_with_its_own_key() -> None:
    assert len(SUBJECTS) == len(set(SUBJECTS)) == 89
    assert len({subjects._key(name) for name in SUBJECTS}) == 89
    for name in SUBJECTS:
        assert subject(name) == name
        assert subject(name.upper()) == name


def test_aliases_never_name_another_subject() -> None:
    for name, aliases in subjects._TABLE.items():
        for alias in aliases:
            assert subject(alias) == name, alias
    for former, successor in subjects._FORMER.items():
        assert subject(former) == successor
        assert successor in SUBJECTS


def test_the_canonical_names_are_the_2026_registrys_own() -> None:
    """The 2026-08 DEF file's ГАР column names every subject, each exactly as SUBJECTS spells it (the
    federal cities aside: ГАР writes ``Город Москва``, the registry's ``Регион`` ``г. Москва``)."""
    written: set[str] = set()
    for row in read_registry(ROSSVYAZ / "DEF-9xx.csv"):
        for part in row.gar.split("|")[-1].split(", "):
            written.add(part.replace("Город ", "г. "))
    named = {part for part in written if subject(part) is not None}
    assert named == {subject(part) for part in named}
    assert named == set(SUBJECTS)  # all 89, each written exactly as SUBJECTS spells it


@pytest.mark.parametrize(
    ("spelling", "canonical_name"),
    [
        ("РЕСПУБЛИКА БАШКОРТОСТАН", "Республика Башкортостан"),
        ("Г. МОСКВА", "г. Москва"),
        ("Город Москва", "г. Москва"),
        ("Москва", "г. Москва"),
        ("Санкт - Петербург", "г. Санкт-Петербург"),
        ("Ростовская обл.", "Ростовская область"),
        ("Республика Саха /Якутия/", "Республика Саха (Якутия)"),
        ("Республика Татарстан (Татарстан)", "Республика Татарстан"),
        ("Республика Удмуртская", "Удмуртская Республика"),
        ("Республика Донецкая Народная", "Донецкая Народная Республика"),
        ("Кабардино - Балкарская Республика", "Кабардино-Балкарская Республика"),
        ("Кемеровская обл.", "Кемеровская область - Кузбасс"),
        ("Кемеровская область - Кузбасс обл.", "Кемеровская область - Кузбасс"),
        ("Чувашская Республика", "Чувашская Республика - Чувашия"),
        ("Ханты - Мансийский - Югра АО", "Ханты-Мансийский автономный округ - Югра"),
        ("Ханты-Мансийский Автономный округ - Югра АО", "Ханты-Мансийский автономный округ - Югра"),
        ("Еврейская автономная обл.", "Еврейская автономная область"),
        ("Ненецкий АО", "Ненецкий автономный округ"),
        ("Читинская область", "Забайкальский край"),
        ("г. Москва * Московская область", "г. Москва и Московская область"),
        ("Московская область * Москва", "г. Москва и Московская область"),
        ("Город Москва, Московская область", "г. Москва и Московская область"),
        ("Ленинградская область, Город Санкт-Петербург", "г. Санкт-Петербург и Ленинградская область"),
        ("Севастополь и Республика Крым", "Республика Крым и г. Севастополь"),
        (
            "Архангельская область * Ненецкий автономный округ",
            "Архангельская область и Ненецкий автономный округ",
        ),
        ("Российская Федерация, кроме Чеченской Республики (ЧР)", NATIONWIDE),
    ],
)
def test_registry_spellings(spelling: str, canonical_name: str) -> None:
    assert canonical(spelling) == canonical_name


@pytest.mark.parametrize(
    "value",
    ["Байконур", "Дальневосточный федеральный округ", "Сибирский регион", "г. Сургут и Сургутский р-н", ""],
)
def test_what_names_no_subject(value: str) -> None:
    assert canonical(value) is None


def test_subjects_of_a_region() -> None:
    assert subjects_of("Республика Татарстан") == ("Республика Татарстан",)
    assert subjects_of("г. Москва и Московская область") == ("г. Москва", "Московская область")
    assert subjects_of(NATIONWIDE) == ()
    assert subjects_of("Байконур") == ()
    for pair, name in JOINT_AREAS.items():
        assert set(subjects_of(name)) == pair


@pytest.mark.parametrize(("generation", "relative"), FILES)
def test_every_generation_maps_onto_the_subjects(generation: str, relative: str) -> None:
    """Each real copy: every row's region is a subject, a joint area, nationwide, or one of the few values
    that name none (kept as written, never dropped)."""
    regions: Counter[str] = Counter()
    rows = 0
    for row in read_registry(ROSSVYAZ / relative):
        where = place(row.region, row.gar)
        rows += 1
        regions[where.subject] += 1
        if where.mapped:
            assert (
                where.subject in SUBJECTS
                or where.subject == NATIONWIDE
                or where.subject in JOINT_AREAS.values()
            )
    assert regions.total() == rows
    kept = {region for region in regions if canonical(region) is None}
    assert kept <= KEPT_AS_WRITTEN, kept - KEPT_AS_WRITTEN


KEPT_AS_WRITTEN = {
    "Байконур",  # leased from Kazakhstan, numbered in Russia's plan
    "Дальневосточный регион",  # 2014 8xx ranges for a macro-region
    "Сибирский регион",
    "Уральский регион",
    "Центральный регион",
    "Северо-Западный регион",
    "Дальневосточный федеральный округ",
    "Абзелиловский район и Белорецкий район",  # two districts, the subject not named
    "Сургутский район и г. Сургут",
    "г. Сургут и Сургутский р-н",
}


def test_the_mobile_and_fixed_lines_of_a_subject_read_the_same() -> None:
    """The same subject, whichever generation and column spells it: one blacklist rule covers them all."""
    spellings = {
        "Республика Башкортостан": [
            ("Республика Башкортостан", ""),
            ("р-н Аургазинский|Республика Башкортостан", ""),
            ("Уфа |Республика Башкортостан", ""),
        ],
        "Республика Татарстан": [
            ("Республика Татарстан (Татарстан)", ""),
            ("г. Казань|Республика Татарстан", ""),
            ("-", "г.о. город Казань|Республика Татарстан"),
        ],
    }
    for name, values in spellings.items():
        assert {place(region, gar).subject for region, gar in values} == {name}


def test_docs_show_the_report_of_every_generation() -> None:
    """docs/data.md's table is what ``python -m tests.realdata.region_report`` prints now."""
    assert markdown(report()) in DOCS.read_text(encoding="utf-8")
