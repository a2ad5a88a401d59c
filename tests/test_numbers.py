import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.errors import InvalidNumber
from worker.numbers import is_russian, parse

MOSCOW = "74959898533"


@pytest.mark.parametrize(
    "raw",
    [
        "+74959898533",
        "74959898533",
        "84959898533",
        "4959898533",
        " 74959898533",  # '+' unencoded in a query string arrives as a space
        "+7 (495) 989-85-33",
        "8 495 989 85 33",
        "8-495-989-85-33",
        "+7.495.989.85.33",
        "(495)9898533",
        "\t+74959898533\n",
    ],
)
def test_every_documented_form_of_a_russian_number(raw: str) -> None:
    assert parse(raw) == MOSCOW


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+358181201235", "358181201235"),
        ("358181201235", "358181201235"),
        ("00358181201235", "358181201235"),
        ("810358181201235", "358181201235"),
        ("+1 (202) 555-0123", "12025550123"),
        ("0", "0"),
    ],
)
def test_international_prefixes(raw: str, digits: str) -> None:
    assert parse(raw) == digits


@pytest.mark.parametrize(
    "raw",
    ["", " ", "+", "a79000000000", "7495abc9898", "++74959898533", "7" * 16, "٧٤٩٥٩٨٩٨٥٣٣", "7495\r\n989"],
)
def test_what_cannot_be_a_number_is_a_typed_error(raw: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        parse(raw)
    assert caught.value.raw == raw


@given(st.text(max_size=40))
def test_parse_either_returns_digits_or_raises_invalid_number(raw: str) -> None:
    try:
        digits = parse(raw)
    except InvalidNumber:
        return
    assert digits.isascii()
    assert digits.isdigit()
    assert 1 <= len(digits) <= 15


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True), st.sampled_from(["+7", "7", "8", "", "+7 ", "8-"]))
def test_every_prefix_of_a_russian_mobile_gives_the_same_digits(national: str, prefix: str) -> None:
    digits = parse(prefix + national)
    assert digits == "7" + national
    assert is_russian(digits)


@given(st.from_regex(r"[1-9][0-9]{9,13}", fullmatch=True))
def test_plus_form_is_taken_verbatim(digits: str) -> None:
    assert parse("+" + digits) == digits
