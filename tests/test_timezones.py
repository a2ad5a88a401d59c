"""Time zones of Russian numbers (every subject in the real registry copies), the multi-zone subjects, and
the calling window at its edges with a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import MTS
from tests.realdata import ROSSVYAZ
from worker.answer.calling import RUSSIAN_HOLIDAYS, CallingWindow, Clock, Hours
from worker.answer.dialplan import variables
from worker.answer.model import GEOGRAPHIC, MOBILE, Allocation, RussianAnswer
from worker.answer.timezones import SUBJECT_ZONES, russian_zones, subject_of, zones_of
from worker.answer.voxlink import v2
from worker.data.dataset.store import LocalStore
from worker.data.importer.registry import import_registry
from worker.lookup.engine import LookupEngine
from worker.service.resources import calling_clock
from worker.settings import RUSSIAN_HOLIDAYS as SETTINGS_HOLIDAYS
from worker.settings import Settings, default_brands_file

WINTER = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # no zone of Russia observes summer time

# Federal Law 107-FZ art. 5: the subjects of each zone other than Moscow's (MSK = UTC+3), by a stem of
# their name as any registry generation spells it; every other subject is on Moscow time.
LAW_107_FZ: list[tuple[int, tuple[str, ...]]] = [
    (2, ("Калининград",)),
    (4, ("Астрахан", "Самар", "Саратов", "Удмурт", "Ульянов")),
    (5, ("Башкорт", "Курган", "Оренбург", "Перм", "Свердлов", "Тюмен", "Ханты", "Челяб", "Ямало")),
    (6, ("Омск",)),  # capital О: not Томская
    (7, ("Алтай", "Тыва", "Хакас", "Краснояр", "Кемеров", "Новосиб", "Томск")),
    (8, ("Бурят", "Иркут")),
    (9, ("Якут", "Забайкал", "Амур")),  # "Саха" would match Сахалинская
    (10, ("Примор", "Хабаров", "Еврей")),
    (11, ("Магадан", "Сахалин")),
    (12, ("Камчат", "Чукот")),
]


def law_offset(region: str) -> str:
    for hours, stems in LAW_107_FZ:
        if any(stem in region for stem in stems):
            return f"+{hours:02d}:00"
    return "+03:00"


@pytest.fixture(scope="module")
def real_engine(tmp_path_factory: pytest.TempPathFactory) -> LookupEngine:
    store = LocalStore(tmp_path_factory.mktemp("realtz") / "data")
    import_registry(
        store, [ROSSVYAZ / "DEF-9xx.csv", ROSSVYAZ / "abc-sample"], brands=default_brands_file(), keep=1
    )
    return LookupEngine(store.open(), clock=Clock(now=lambda: WINTER))


def test_every_subject_of_the_real_registry_has_its_zone(real_engine: LookupEngine) -> None:
    dataset = real_engine.dataset
    assert dataset is not None
    first_number: dict[str, int] = {}
    for allocation in dataset.iter_ranges():
        first_number.setdefault(allocation.region, allocation.start)
    subjects = set()
    for region, national in first_number.items():
        answer = real_engine.lookup_now(f"7{national:010d}")
        body = v2(answer, real_engine.clock)
        subject = subject_of(region)
        if subject is None:  # a municipal formation or a city alone (until issue 11): zone by the code
            assert body["timezone"], region
            continue
        assert body.get("utc_offset") == law_offset(region), (region, body.get("timezone"))
        subjects.add(subject)
    # the DEF file and the ABC sample name all but a few subjects; each must have been checked
    assert len(subjects) >= 80
    assert {"Республика Саха (Якутия)", "Калининградская область", "Чукотский автономный округ"} <= subjects


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("73012110000", "Asia/Irkutsk"),  # г. Улан-Удэ|Республика Бурятия (ABC, city and subject)
        ("79170415564", "Asia/Yekaterinburg"),  # Башкортостан
        ("73437052000", "Asia/Yekaterinburg"),  # "г.о. Новоуральский": no subject named, the code's zone
        ("78435192900", "Europe/Moscow"),  # "г. Казань" alone
        ("78001000000", "Europe/Moscow"),  # 8xx: the whole country, Moscow time first
    ],
)
def test_sample_numbers(real_engine: LookupEngine, number: str, zone: str) -> None:
    assert v2(real_engine.lookup_now(number), real_engine.clock)["timezone"] == zone


def test_non_geographic_numbers_list_every_russian_zone(real_engine: LookupEngine) -> None:
    body = v2(real_engine.lookup_now("78001000000"), real_engine.clock)
    zones = body["timezones"]
    assert isinstance(zones, list)
    assert zones[0] == "Europe/Moscow"
    assert {"Europe/Kaliningrad", "Asia/Kamchatka", "Asia/Srednekolymsk"} <= set(zones)


def test_the_table_has_the_89_subjects() -> None:
    assert len(SUBJECT_ZONES) == 89
    for subject in SUBJECT_ZONES:
        assert subject_of(subject) == subject


@pytest.mark.parametrize(
    ("region", "subject"),
    [
        ("г. Казань, Республика Татарстан", "Республика Татарстан"),  # today's fixed lines
        ("г. Норильск|Красноярский край", "Красноярский край"),
        ("Республика Саха /Якутия/", "Республика Саха (Якутия)"),
        ("Ханты - Мансийский - Югра АО", "Ханты-Мансийский автономный округ - Югра"),
        ("Амурская обл.", "Амурская область"),
        ("Республика Удмуртская", "Удмуртская Республика"),
        ("Город Москва", "г. Москва"),
        ("Город Байконур", None),
    ],
)
def test_subject_spellings(region: str, subject: str | None) -> None:
    assert subject_of(region) == subject


YAKUTIA = "Республика Саха (Якутия)"


@pytest.mark.parametrize(
    ("locality", "zone"),
    [
        ("г. Якутск", "Asia/Yakutsk"),
        ("р-н Среднеколымский", "Asia/Srednekolymsk"),
        ("п. Усть-Нера", "Asia/Ust-Nera"),
        ("Оймяконский улус", "Asia/Ust-Nera"),
        ("р-н Верхоянский", "Asia/Vladivostok"),
    ],
)
def test_yakutia_by_locality(locality: str, zone: str) -> None:
    zones = russian_zones(YAKUTIA, locality)
    assert zones is not None
    if zone == "Asia/Yakutsk":  # a locality the table does not single out: the main zone and the list
        assert zones.main == zone
        assert len(zones.all) > 1
    else:
        assert zones.all == (zone,)


@dataclass(frozen=True)
class LocatedAllocation(Allocation):
    """An allocation with the ``locality`` field issue 11 adds (read with getattr until it lands)."""

    locality: str | None = None


def test_multi_zone_subject_without_a_locality_is_the_main_zone_and_the_list() -> None:
    yakutia = Allocation("914", 9140000000, 9140099999, MTS, YAKUTIA, MOBILE)
    # 20:30 in Yakutsk (UTC+9) is 22:30 in Srednekolymsk (UTC+11): not callable in all of Yakutia
    evening = Clock(now=lambda: datetime(2026, 12, 3, 11, 30, tzinfo=UTC))
    body = v2(RussianAnswer("9140000001", yakutia), evening)
    assert body["timezone"] == "Asia/Yakutsk"
    assert body["utc_offset"] == "+09:00"
    assert body["timezones"] == ["Asia/Yakutsk", "Asia/Srednekolymsk", "Asia/Ust-Nera", "Asia/Vladivostok",
                                 "Asia/Khandyga"]  # fmt: skip
    assert body["callable_now"] is False
    located = LocatedAllocation("411", 4112000000, 4112099999, MTS, YAKUTIA, GEOGRAPHIC, "г. Якутск")
    assert zones_of(RussianAnswer("4112000001", located)) == russian_zones(YAKUTIA)
    srednekolymsk = LocatedAllocation(
        "411", 4115600000, 4115699999, MTS, YAKUTIA, GEOGRAPHIC, "г. Среднеколымск"
    )
    body = v2(RussianAnswer("4115600001", srednekolymsk), evening)
    assert (body["timezone"], body["utc_offset"], body["callable_now"]) == (
        "Asia/Srednekolymsk",
        "+11:00",
        False,
    )
    assert "timezones" not in body
    # and an hour earlier every zone of Yakutia is inside the window
    earlier = Clock(now=lambda: datetime(2026, 12, 3, 10, 30, tzinfo=UTC))
    assert v2(RussianAnswer("9140000001", yakutia), earlier)["callable_now"] is True


MOSCOW_NUMBER = RussianAnswer(
    "4959890000", Allocation("495", 4959890000, 4959899999, MTS, "г. Москва", GEOGRAPHIC)
)


def at_moscow(day: date, hour: int, minute: int = 0, second: int = 0) -> Clock:
    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo("Europe/Moscow"))
    return Clock(now=lambda: moment.astimezone(UTC))


@pytest.mark.parametrize(
    ("day", "clock", "callable_now"),
    [
        # a working day (Thursday): 08:00 ≤ t < 22:00
        (date(2026, 12, 3), (7, 59, 59), False),
        (date(2026, 12, 3), (8, 0, 0), True),
        (date(2026, 12, 3), (21, 59, 59), True),
        (date(2026, 12, 3), (22, 0, 0), False),
        # a Saturday: 09:00 ≤ t < 20:00
        (date(2026, 12, 5), (8, 59, 59), False),
        (date(2026, 12, 5), (9, 0, 0), True),
        (date(2026, 12, 5), (19, 59, 59), True),
        (date(2026, 12, 5), (20, 0, 0), False),
        # a public holiday on a Friday (12 June): the weekend's hours
        (date(2026, 6, 12), (8, 30, 0), False),
        (date(2026, 6, 12), (9, 0, 0), True),
        (date(2026, 6, 12), (20, 0, 0), False),
    ],
)
def test_the_window_at_its_edges(day: date, clock: tuple[int, int, int], callable_now: bool) -> None:
    fixed = at_moscow(day, *clock)
    assert v2(MOSCOW_NUMBER, fixed)["callable_now"] is callable_now
    pairs = dict(variables(MOSCOW_NUMBER, clock=fixed))
    assert pairs["NUM_CALLABLE"] == ("1" if callable_now else "0")
    assert pairs["NUM_TZ"] == "Europe/Moscow"
    assert pairs["NUM_LOCAL_TIME"] == f"{day.isoformat()} {clock[0]:02d}:{clock[1]:02d}"


def test_the_window_is_configurable() -> None:
    settings = Settings(
        calling={
            "working_hours": "10:00-18:00",
            "weekend_hours": "11:00-15:00",
            "working_dates": ["2026-12-05"],  # this Saturday is worked
            "holiday_dates": ["2026-12-04"],  # and Friday is a day off
        }
    )
    window = calling_clock(settings).window
    assert window.working == Hours(time(10), time(18))
    thursday, friday, saturday = date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)
    assert window.hours_on(thursday).start == time(10)
    assert window.hours_on(friday).start == time(11)
    assert window.hours_on(saturday).start == time(10)
    real = calling_clock(settings)
    at_nine = Clock(real.window, at_moscow(thursday, 9, 59).now)
    at_ten = Clock(real.window, at_moscow(thursday, 10, 0).now)
    assert v2(MOSCOW_NUMBER, at_nine)["callable_now"] is False
    assert v2(MOSCOW_NUMBER, at_ten)["callable_now"] is True


def test_bad_calling_hours_are_a_settings_error() -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Settings(calling={"working_hours": "22:00-08:00"})
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Settings(calling={"weekend_hours": "nine to five"})


def test_default_holidays_agree() -> None:
    from_settings = {(int(day[:2]), int(day[3:])) for day in SETTINGS_HOLIDAYS}
    assert from_settings == set(RUSSIAN_HOLIDAYS) == set(CallingWindow().holidays)
    assert calling_clock(Settings()).window == CallingWindow()


def test_settings_file_sets_the_window(tmp_path: Path) -> None:
    config = tmp_path / "numlookup.toml"
    config.write_text('[calling]\nworking_hours = "09:00-21:00"\n', encoding="utf-8")
    from worker.settings import load_settings

    assert calling_clock(load_settings(config)).window.working == Hours(time(9), time(21))


def test_the_window_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMLOOKUP_CALLING__WEEKEND_HOURS", "10:00-18:00")
    monkeypatch.setenv("NUMLOOKUP_CALLING__WEEKEND_DAYS", "[7]")
    window = calling_clock(Settings()).window
    assert window.weekend == Hours(time(10), time(18))
    assert window.hours_on(date(2026, 12, 5)) == window.working  # Saturday works now
    assert window.hours_on(date(2026, 12, 6)) == window.weekend
