"""Golden tests: readable names, fallback brands and the ИНН → brand mapping over the real DEF file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.data.conftest import BRANDS
from worker.data.dataset.store import LocalStore
from worker.data.formats.brands import Brands, choose_name
from worker.data.formats.names import fallback_brand, readable_operator
from worker.data.formats.places import Place, place
from worker.errors import ConfigError

# ИНН → brand the issue asks for, as answered after importing the real DEF-9xx.csv.
EXPECTED_BRANDS = {
    "7740000076": "МТС",
    "7812014560": "МегаФон",
    "7713076301": "Билайн",
    "7743895280": "Т2",
    "7707049388": "Ростелеком",
    "7701725181": "Yota",
    "7743200179": "Т-Мобайл",
    "7736264044": "СберМобайл",
    "7705017253": "МТТ",
    "7709362765": "ТТК",
    "6661079603": "Мотив",
    "2308210371": "Win mobile",
    "7702527584": "Миранда",
    "9308013351": "ГУП ДНР «РОС»",
}


def test_brands_of_the_real_def_file(registry_store: LocalStore) -> None:
    operators = {operator.inn: operator for operator in registry_store.open().operators}
    assert {inn: operators[inn].brand for inn in EXPECTED_BRANDS} == EXPECTED_BRANDS
    assert operators["7812014560"].name == 'ПАО "МегаФон"'
    # Not in the mapping: the legal name in readable case, the brand without the legal form.
    assert operators["7727443720"].brand == "НМК"
    assert (operators["9725152215"].name, operators["9725152215"].brand) == (
        'ООО "Альфа-Мобайл"',
        "Альфа-Мобайл",
    )
    assert (operators["7841482919"].name, operators["7841482919"].brand) == ('ООО "Миател"', "Миател")


@pytest.mark.parametrize(
    ("registry", "readable"),
    [
        ('ООО "Т2 МОБАЙЛ"', 'ООО "Т2 Мобайл"'),
        ('ПАО "МЕГАФОН"', 'ПАО "Мегафон"'),
        ('ООО "ТТК-СВЯЗЬ"', 'ООО "ТТК-Связь"'),
        ('ООО ИК "СИБИНТЕК"', 'ООО ИК "Сибинтек"'),
        ("ПАО МГТС", "ПАО МГТС"),
        ('ООО "ЭН+ ТЕЛЕКОМ"', 'ООО "ЭН+ Телеком"'),
        ('ПАО "Ростелеком"', 'ПАО "Ростелеком"'),  # had lower case: kept exactly
        (
            "ГОСУДАРСТВЕННОЕ УНИТАРНОЕ ПРЕДПРИЯТИЕ ДОНЕЦКОЙ НАРОДНОЙ РЕСПУБЛИКИ «ОПЕРАТОР СВЯЗИ»",
            "Государственное унитарное предприятие Донецкой Народной Республики «Оператор Связи»",
        ),
    ],
)
def test_readable_operator(registry: str, readable: str) -> None:
    assert readable_operator(registry) == readable


@pytest.mark.parametrize(
    ("name", "brand"),
    [('ООО "ТТК-СВЯЗЬ"', "ТТК-Связь"), ("ПАО МГТС", "МГТС"), ("Минцифры России", "Минцифры России")],
)
def test_fallback_brand(name: str, brand: str) -> None:
    assert fallback_brand(name) == brand


@pytest.mark.parametrize(
    ("registry", "gar", "subject", "locality"),
    [
        ("РЕСПУБЛИКА БАШКОРТОСТАН", "", "Республика Башкортостан", None),
        ("Г. МОСКВА", "", "г. Москва", None),
        ("ХАНТЫ-МАНСИЙСКИЙ АВТОНОМНЫЙ ОКРУГ - ЮГРА", "", "Ханты-Мансийский автономный округ - Югра", None),
        ("ЕВРЕЙСКАЯ АВТОНОМНАЯ ОБЛ.", "", "Еврейская автономная область", None),
        ("ЯМАЛО-НЕНЕЦКИЙ АО", "", "Ямало-Ненецкий автономный округ", None),
        ("г. Норильск|Красноярский край", "", "Красноярский край", "г. Норильск"),
        ("г. Норильск|г.о. город Норильск|Красноярский край", "", "Красноярский край", "г. Норильск"),
        ("г.о. город Казань|Республика Татарстан", "", "Республика Татарстан", "г. Казань"),
        ("м.р-н Аургазинский|Республика Башкортостан", "", "Республика Башкортостан", "р-н Аургазинский"),
        (
            "г. Казань",
            "г. Казань|г.о. город Казань|Республика Татарстан",
            "Республика Татарстан",
            "г. Казань",
        ),
        (
            "г.о. Новоуральский",
            "г.о. Новоуральский|Свердловская область",
            "Свердловская область",
            "г.о. Новоуральский",
        ),
        ("г. Москва * Московская область", "", "г. Москва и Московская область", None),
        ("Город Москва, Московская область", "", "г. Москва и Московская область", None),
        (
            "Московская область * Москва|Московская область * Москва",
            "",
            "г. Москва и Московская область",
            None,
        ),
        ("Улан - Удэ |Республика Бурятия", "", "Республика Бурятия", "Улан - Удэ"),
        (
            "Ханты - Мансийский - Югра АО |Тюменская область",
            "",
            "Ханты-Мансийский автономный округ - Югра",
            None,
        ),
        ("Корякский округ|Камчатский край", "", "Камчатский край", "Корякский округ"),
        ("Сысертский м.о.|г. Сысерть|Свердловская область", "", "Свердловская область", "г. Сысерть"),
        ("Читинская область", "", "Забайкальский край", None),
        ("Российская Федерация, кроме Чеченской Республики", "", "Российская Федерация", None),
    ],
)
def test_place(registry: str, gar: str, subject: str, locality: str | None) -> None:
    assert place(registry, gar) == Place(subject, locality, True)


@pytest.mark.parametrize(
    ("registry", "kept"),
    [
        ("Байконур", "Байконур"),
        ("Дальневосточный федеральный округ", "Дальневосточный федеральный округ"),
        ("Абзелиловский район * Белорецкий район|Абзелиловский район * Белорецкий район",
         "Абзелиловский район и Белорецкий район"),
        ("СИБИРСКИЙ РЕГИОН|Х", "Сибирский регион, Х"),
        ("|", "|"),
    ],
)  # fmt: skip
def test_a_region_naming_no_subject_is_kept(registry: str, kept: str) -> None:
    assert place(registry, "Республика Бурятия, Забайкальский край, Амурская область") == Place(
        kept, None, False
    )


def test_shipped_mapping_loads() -> None:
    brands = Brands.load(BRANDS)
    assert brands.by_inn["7713076301"].brand == "Билайн"
    assert brands.key_for("", 'ОАО "Вымпел-Коммуникации"') == "7713076301"  # alias: old files had no ИНН
    assert brands.key_for("", 'ООО "Неизвестный"') == "name:НЕИЗВЕСТНЫЙ"


@pytest.mark.parametrize(
    "text",
    ["[operators.123]\nbrand = 'x'\n", "[operators.7740000076]\nname = 'x'\n", "[operators.7740000076\n"],
)
def test_broken_mapping_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "brands.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"brands\.toml"):
        Brands.load(path)


def test_spellings_differing_in_case_or_spaces_are_one_name() -> None:
    spellings = Counter({'ООО "СВЯЗЬ  ПЛЮС"': 10, 'ООО "Связь Плюс"': 10, 'ООО "ДРУГОЕ ИМЯ"': 15})
    assert choose_name(spellings) == 'ООО "Связь Плюс"'  # 20 rows against 15, in the registry's own case
    assert choose_name(Counter({'ООО "ОДНО"': 7, 'ООО  "ОДНО"': 7, 'ООО "ДРУГОЕ"': 10})) == 'ООО "Одно"'
    assert choose_name(Counter({'ПАО "РОСТЕЛЕКОМ"': 400, 'ПАО "Ростелеком"': 3})) == 'ПАО "Ростелеком"'


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ('АО "МК "ВЫСОТА"', 'МК "Высота"'),
        ('ООО "ПРИВЕТ, ИНТЕРНЕТ"', "Привет, Интернет"),
        ('ООО  "К ТЕЛЕКОМ"', "К Телеком"),
    ],
)
def test_fallback_brand_of_real_spellings(name: str, brand: str) -> None:
    assert fallback_brand(name) == brand
