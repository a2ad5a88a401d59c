"""Fixed-line and special numbers, proven on every real ABC row of tests/realdata/rossvyaz/abc-sample.

The 1,687 rows are imported with the real 2026 DEF file, then a number at each end of every range is looked
up: it answers the row's operator brand (one per ИНН), the row's subject as ``region``, its locality as its
own field, and v2 ``location`` = the locality where the row has one. The expected subject and locality are
written out below for each distinct ``Регион`` of the sample, not computed by the code under test.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.data.conftest import BRANDS, REAL_DEF, ROSSVYAZ
from worker.answer.model import RussianAnswer
from worker.answer.translit import latin
from worker.answer.voxlink import v1, v2
from worker.data.dataset.store import LocalStore
from worker.data.formats.brands import Brands
from worker.data.importer.registry import import_registry
from worker.lookup.engine import LookupEngine

SAMPLE = [ROSSVYAZ / "abc-sample" / "ABC-3xx-sample.csv", ROSSVYAZ / "abc-sample" / "ABC-8xx-sample.csv"]

# `Регион` (or, where it is `-`, `Территория ГАР`) → (region answered, locality answered)
EXPECTED: dict[str, tuple[str, str | None]] = {
    "г. Улан-Удэ|Республика Бурятия": ("Республика Бурятия", "г. Улан-Удэ"),
    "г.о. город Улан-Удэ|Республика Бурятия": ("Республика Бурятия", "г. Улан-Удэ"),
    "р-н Аургазинский|Республика Башкортостан": ("Республика Башкортостан", "р-н Аургазинский"),
    "р-н Федоровский|Республика Башкортостан": ("Республика Башкортостан", "р-н Федоровский"),
    "г. Новосибирск|Новосибирская обл.": ("Новосибирская область", "г. Новосибирск"),
    "г. Новоуральск|Свердловская обл.": ("Свердловская область", "г. Новоуральск"),
    "Новоуральский городской округ": ("Свердловская область", "Новоуральский городской округ"),
    "г. Арамиль|р-н Сысертский|Свердловская обл.": ("Свердловская область", "г. Арамиль"),
    "г. Камышлов|Свердловская обл.": ("Свердловская область", "г. Камышлов"),
    "г. Сухой Лог|р-н Сухоложский|Свердловская обл.": ("Свердловская область", "г. Сухой Лог"),
    "г. Сысерть|р-н Сысертский|Свердловская обл.": ("Свердловская область", "г. Сысерть"),
    "г. Талица|р-н Талицкий|Свердловская обл.": ("Свердловская область", "г. Талица"),
    "г.о. Арамильский": ("Свердловская область", "г.о. Арамильский"),
    "г.о. Камышловский": ("Свердловская область", "г.о. Камышловский"),
    "г.о. Новоуральский": ("Свердловская область", "г.о. Новоуральский"),
    "г.о. Пышминский": ("Свердловская область", "г.о. Пышминский"),
    "г.о. Сухой Лог": ("Свердловская область", "г.о. Сухой Лог"),
    "г.о. Сысертский": ("Свердловская область", "г.о. Сысертский"),
    "г.о. Талицкий": ("Свердловская область", "г.о. Талицкий"),
    "м.р-н Камышловский|Свердловская область": ("Свердловская область", "р-н Камышловский"),
    "р-н Камышловский|Свердловская обл.": ("Свердловская область", "р-н Камышловский"),
    "р-н Невьянский|Свердловская обл.": ("Свердловская область", "р-н Невьянский"),
    "р-н Сухоложский|Свердловская обл.": ("Свердловская область", "р-н Сухоложский"),
    "р-н Сысертский|Свердловская обл.": ("Свердловская область", "р-н Сысертский"),
    "г. Санкт-Петербург": ("г. Санкт-Петербург", None),
    "Город Санкт-Петербург": ("г. Санкт-Петербург", None),
    "г. Казань|Республика Татарстан": ("Республика Татарстан", "г. Казань"),
    "г.о. город Казань|Республика Татарстан": ("Республика Татарстан", "г. Казань"),
    "г. Казань": ("Республика Татарстан", "г. Казань"),
    "р-н Рыбно-Слободский|Республика Татарстан": ("Республика Татарстан", "р-н Рыбно-Слободский"),
    "р-н Тюлячинский|Республика Татарстан": ("Республика Татарстан", "р-н Тюлячинский"),
    "г. Новороссийск|Краснодарский край": ("Краснодарский край", "г. Новороссийск"),
    "г. Москва": ("г. Москва", None),
    "г. Москва * Московская область": ("г. Москва и Московская область", None),
    "г. Москва и Московская область": ("г. Москва и Московская область", None),
    "Московская область * Москва|Московская область * Москва": ("г. Москва и Московская область", None),
    "Амурская обл.": ("Амурская область", None),
    "Камчатский край": ("Камчатский край", None),
    "Рязанская обл.": ("Рязанская область", None),
    "Российская Федерация": ("Российская Федерация", None),
    "Российская Федерация, кроме Чеченской Республики": ("Российская Федерация", None),
    "Российская Федерация, кроме Чукотского автономного округа": ("Российская Федерация", None),
    "Дальневосточный федеральный округ": ("Дальневосточный федеральный округ", None),  # no subject: kept
}


def sample_rows() -> list[list[str]]:
    """The sample's rows as plain fields, read without the code under test."""
    rows = []
    for path in SAMPLE:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        rows += [line.split(";") for line in lines[1:] if line]
    return rows


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> LookupEngine:
    store = LocalStore(tmp_path_factory.mktemp("fixed") / "data")
    meta = import_registry(store, [REAL_DEF, *SAMPLE], brands=BRANDS, keep=1)
    assert meta.ranges == 17_059 + 856 + 831
    assert meta.unmapped_rows == 10
    assert meta.unmapped_regions == {"Дальневосточный федеральный округ": 10}
    return LookupEngine(store.open())


def answer(engine: LookupEngine, number: str) -> RussianAnswer:
    result = engine.lookup_now(number)
    assert isinstance(result, RussianAnswer), number
    return result


def words(name: str) -> str:
    """A name's words, case and quotes aside: how a brand is compared with the registry's spelling."""
    return " ".join(re.sub(r"[\"«»]", " ", name).split()).casefold()


def test_every_sample_row(engine: LookupEngine) -> None:
    brands = Brands.load(BRANDS)
    answered: dict[str, set[str]] = defaultdict(set)
    rows = sample_rows()
    assert len(rows) == 1_687
    for code, first, last, _capacity, operator, region, gar, inn in rows:
        expected_region, expected_locality = EXPECTED[gar if region == "-" else region]
        for tail in (first, last):
            result = answer(engine, f"7{code}{tail}")
            allocation = result.allocation
            assert (allocation.region, allocation.locality) == (expected_region, expected_locality), (
                code,
                tail,
            )
            assert result.operator.inn == inn
            answered[inn].add(result.operator.brand)
            body1, body2 = v1(result), v2(result)
            assert body1["region"] == expected_region
            assert body1.get("locality") == expected_locality
            assert ("locality" in body1) == (expected_locality is not None)
            assert body2["location"] == latin(expected_locality or expected_region)
            assert body2["destination"] == "Russia"
            assert (body2["min_subscr_nr_length"], body2["max_subscr_nr_length"]) == (11, 11)
            assert str(body2["cns"]).startswith(f"7{code}")
            entry = brands.by_inn.get(inn)
            if entry is not None:
                assert result.operator.brand == entry.brand
            else:  # the registry's name without the legal form, readable; the words are the row's own
                assert words(result.operator.brand) in words(operator), (operator, result.operator.brand)
    assert all(len(spellings) == 1 for spellings in answered.values()), answered


@pytest.mark.parametrize(
    ("inn", "brand"),
    [
        ("7707049388", "Ростелеком"),  # ПАО "Ростелеком" and ПАО "РОСТЕЛЕКОМ" in the same file
        ("6670230988", "К Телеком"),  # ООО  "К ТЕЛЕКОМ", with a double space
        ("7727315937", "Привет, Интернет"),  # a comma inside the name
        ("6672212600", 'МК "Высота"'),  # АО "МК "ВЫСОТА": nested quotes
        ("0274018377", "Башинформсвязь"),
        ("1681000024", "Таттелеком"),
    ],
)
def test_one_readable_brand_per_inn(engine: LookupEngine, inn: str, brand: str) -> None:
    assert engine.dataset is not None
    assert [operator.brand for operator in engine.dataset.operators if operator.inn == inn] == [brand]


def test_kazan_as_the_issue_shows_it(engine: LookupEngine) -> None:
    result = answer(engine, "78435079000")  # 843;5079000;…;ООО "ТМТ";г. Казань|Республика Татарстан
    assert v1(result) == {
        "code": "843",
        "num": "5079000",
        "full_num": "8435079000",
        "operator": "ТМТ",
        "region": "Республика Татарстан",
        "locality": "г. Казань",
    }
    assert v2(result)["location"] == "g. Kazan'"
    assert v1(result, translit=True)["locality"] == "g. Kazan'"


def test_a_mobile_has_no_locality_key(engine: LookupEngine) -> None:
    body = v1(answer(engine, "79170415564"))
    assert body == {
        "code": "917",
        "num": "0415564",
        "full_num": "9170415564",
        "operator": "МТС",
        "region": "Республика Башкортостан",
    }


def test_a_federal_city_is_its_own_subject(engine: LookupEngine) -> None:
    result = answer(engine, "78123325780")  # 812;3325780: Регион "-", ГАР "Город Санкт-Петербург"
    assert (result.allocation.region, result.allocation.locality) == ("г. Санкт-Петербург", None)
    assert v2(result)["location"] == "g. Sankt-Peterburg"


def test_toll_free_ranges_of_the_registry(engine: LookupEngine) -> None:
    result = answer(engine, "78001000000")  # 800;1000000;1009999;…;ПАО "Ростелеком";Российская Федерация
    assert result.allocation.region == "Российская Федерация"
    body = v2(result)
    assert (body["destination"], body["type_id"], body["description"]) == ("Russia", "TF", "toll free")
    assert body["location"] == "Rossijskaya Federaciya"
    assert (body["min_subscr_nr_length"], body["max_subscr_nr_length"], body["cns"]) == (11, 11, 7800100)
    assert (body["flag_iso"], body["registrar"]) == ("RU", "Rostelekom")


@pytest.mark.parametrize(
    ("number", "type_id", "description"),
    [
        ("88005553535", "TF", "toll free"),
        ("88045553535", "TF", "toll free"),
        ("88095553535", "PRM", "premium rate"),
        ("88035553535", "PRM", "premium rate"),
        ("88085553535", "PN", "personal number"),
    ],
)
def test_special_numbers_outside_the_loaded_ranges(
    engine: LookupEngine, number: str, type_id: str, description: str
) -> None:
    body = dict(v2(engine.lookup_now(number)))
    assert body.pop("timezone") == "Europe/Moscow"  # nationwide: Moscow time, every Russian zone listed
    for key in ("utc_offset", "timezones", "callable_now"):
        body.pop(key)
    assert body == {
        "cns": int("7" + number[1:4]),
        "country_code": 7,
        "destination": "Russia",
        "type_id": type_id,
        "description": description,
        "min_subscr_nr_length": 11,
        "max_subscr_nr_length": 11,
        "flag_iso": "RU",
        "flag_icon": "🇷🇺",
    }
