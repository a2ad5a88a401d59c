import json
from datetime import UTC, datetime

import pytest

from tests.conftest import MTS, T2
from worker.answer.calling import Clock
from worker.answer.dialplan import failure_variables, variables
from worker.answer.model import GEOGRAPHIC, MOBILE, Allocation, NotFound, RussianAnswer
from worker.answer.translit import latin
from worker.answer.voxlink import flag_emoji, to_json, v1, v2
from worker.lookup.foreign import lookup_foreign

NOON = Clock(now=lambda: datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # a Thursday, 12:00 in Moscow
KRASNODAR = Allocation("900", 9000000000, 9000061999, T2, "Краснодарский край", MOBILE)


@pytest.mark.parametrize(
    ("cyrillic", "ascii_latin"),
    [
        ("Краснодарский край", "Krasnodarskij kraj"),  # the talk's samples
        ("г. Москва", "g. Moskva"),
        ("МТС", "MTS"),
        ("Теле2", "Tele2"),
        ("ТЕТА ТЕЛЕКОМ", "TETA TELEKOM"),
        ("Республика Башкортостан", "Respublika Bashkortostan"),
        # GOST 7.0.34 (iuliia) is the scheme: х → x, я → ya, ы → y, ц → cz, ь → '
        ("Ханты-Мансийский автономный округ - Югра", "Xanty-Mansijskij avtonomnyj okrug - Yugra"),
        ("Чувашская Республика", "Chuvashskaya Respublika"),
        ("Тверская область", "Tverskaya oblast'"),
        ("ГУП ДНР «РОС»", 'GUP DNR "ROS"'),
        ("Win mobile", "Win mobile"),
    ],
)
def test_transliteration_is_pinned(cyrillic: str, ascii_latin: str) -> None:
    assert latin(cyrillic) == ascii_latin
    assert latin(cyrillic).isascii()


def test_v1_of_a_ported_number_has_the_talks_keys_in_order() -> None:
    answer = RussianAnswer("9000000000", KRASNODAR, MTS)
    assert list(v1(answer).items()) == [
        ("code", "900"),
        ("num", "0000000"),
        ("full_num", "9000000000"),
        ("operator", "МТС"),
        ("old_operator", "Т2"),
        ("region", "Краснодарский край"),
    ]


KAZAN = Allocation("843", 8435079000, 8435079999, T2, "Республика Татарстан", GEOGRAPHIC, "г. Казань")


def test_a_fixed_line_adds_its_locality_after_the_region() -> None:
    answer = RussianAnswer("8435079000", KAZAN)
    assert list(v1(answer))[-2:] == ["region", "locality"]
    assert v1(answer)["locality"] == "г. Казань"
    assert v1(answer, translit=True)["locality"] == "g. Kazan'"
    assert v2(answer)["location"] == "g. Kazan'"  # the locality, as voxlink shows "g. Moskva"
    assert "locality" not in v1(RussianAnswer("9000000000", KRASNODAR))
    assert v2(RussianAnswer("9000000000", KRASNODAR))["location"] == "Krasnodarskij kraj"


def test_dialplan_variables_carry_the_subject_and_the_locality() -> None:
    answer = RussianAnswer("8435079000", KAZAN)
    pairs = dict(variables(answer))
    assert (pairs["NUM_REGION"], pairs["NUM_LOCALITY"]) == ("Республика Татарстан", "г. Казань")
    latin_pairs = dict(variables(answer, version=2))
    assert (latin_pairs["NUM_REGION"], latin_pairs["NUM_LOCALITY"]) == ("Respublika Tatarstan", "g. Kazan'")
    assert dict(variables(RussianAnswer("9000000000", KRASNODAR)))["NUM_LOCALITY"] == ""
    foreign = lookup_foreign("358181201235")
    assert dict(variables(foreign))["NUM_LOCALITY"] == ""
    names = [name for name, _ in variables(answer)]
    assert names.index("NUM_LOCALITY") == names.index("NUM_REGION") + 1
    assert names[-1] == "NUM_STATUS"


def test_v1_translit_turns_every_text_value_latin() -> None:
    answer = RussianAnswer("9000000000", KRASNODAR, MTS)
    assert v1(answer, translit=True)["operator"] == "MTS"
    assert v1(answer, translit=True)["region"] == "Krasnodarskij kraj"
    assert all(value.isascii() for value in v1(answer, translit=True).values())


def test_v2_of_a_ported_number_matches_the_talks_shape() -> None:
    body = v2(RussianAnswer("9000000000", KRASNODAR, MTS), NOON)
    assert body == {
        "cns": 79000000000,
        "country_code": 7,
        "destination": "Russia",
        "type_id": "MOB",
        "description": "mobile",
        "location": "Krasnodarskij kraj",
        "registrar": "MTS",
        "registrar_old": "T2",
        "min_subscr_nr_length": 11,
        "max_subscr_nr_length": 11,
        "flag_iso": "RU",
        "flag_icon": "🇷🇺",
        "timezone": "Europe/Moscow",
        "utc_offset": "+03:00",
        "callable_now": True,
    }


def test_cns_of_an_unported_number_is_the_ranges_shared_prefix() -> None:
    assert v2(RussianAnswer("9000000001", KRASNODAR))["cns"] == 790000
    assert "registrar_old" not in v2(RussianAnswer("9000000001", KRASNODAR))


def test_aland_answers_with_its_own_flag_not_finlands() -> None:
    body = v2(lookup_foreign("358181201235"))
    assert body["country_code"] == 358
    assert body["destination"] == "Aland Islands"
    assert body["flag_iso"] == "AX"
    assert body["flag_icon"] == "🇦🇽"
    assert body["type_id"] == "FIX"
    assert body["description"] == "geographic"


def test_unknown_number_v2() -> None:
    assert v2(NotFound("0")) == {"destination": "not found"}


def test_json_is_written_as_the_talk_shows() -> None:
    assert to_json({"code": "917", "operator": "МТС"}) == '{"code": "917", "operator": "МТС"}'


def test_variables_end_with_status_and_carry_the_whole_answer() -> None:
    pairs = variables(RussianAnswer("9000000000", KRASNODAR, MTS))
    names = [name for name, _ in pairs]
    assert names[-1] == "NUM_STATUS"
    assert dict(pairs)["NUM_STATUS"] == "OK"
    assert dict(pairs)["NUM_OPERATOR"] == "МТС"
    assert dict(pairs)["NUM_OLD_OPERATOR"] == "Т2"
    assert json.loads(dict(pairs)["var"])["region"] == "Краснодарский край"
    latin_pairs = dict(variables(RussianAnswer("9000000000", KRASNODAR, MTS), version=2, var="num"))
    assert latin_pairs["NUM_OPERATOR"] == "MTS"
    assert json.loads(latin_pairs["num"])["registrar_old"] == "T2"


def test_variables_for_foreign_and_unknown_numbers() -> None:
    foreign = dict(variables(lookup_foreign("358181201235")))
    assert foreign["NUM_COUNTRY"] == "AX"
    assert json.loads(foreign["var"])["destination"] == "Aland Islands"
    assert variables(NotFound("0"))[-1] == ("NUM_STATUS", "INVALID")  # no phone number: as v1's format error
    assert variables(NotFound("70000000000"))[-1] == ("NUM_STATUS", "NOT_FOUND")
    assert failure_variables("INVALID")[-1] == ("NUM_STATUS", "INVALID")


def test_flag_emoji() -> None:
    assert flag_emoji("RU") == "🇷🇺"
    assert flag_emoji("") == ""


def test_the_fields_field_accepts_are_listed_once() -> None:
    from worker.answer.voxlink import V1_KNOWN_FIELDS

    assert "locality" in V1_KNOWN_FIELDS
    assert len(set(V1_KNOWN_FIELDS)) == len(V1_KNOWN_FIELDS)  # the 400 lists them for the user
