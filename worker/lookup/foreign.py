"""Answers for numbers outside the Russian registry, from libphonenumber's metadata (``phonenumbers``)."""

from __future__ import annotations

from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType, carrier, geocoder, timezone
from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX
from phonenumbers.geodata import GEOCODE_DATA, GEOCODE_LONGEST_PREFIX
from phonenumbers.phonemetadata import PhoneMetadata

from worker.answer.model import RUSSIA_ISO, ForeignAnswer, LineType, NotFound, russian_line_type
from worker.answer.translit import ascii_fold
from worker.numbers import is_kazakh

_TYPES: Final[dict[int, LineType]] = {
    PhoneNumberType.FIXED_LINE: LineType("FIX", "geographic"),
    PhoneNumberType.MOBILE: LineType("MOB", "mobile"),
    PhoneNumberType.FIXED_LINE_OR_MOBILE: LineType("FIX_MOB", "fixed line or mobile"),
    PhoneNumberType.TOLL_FREE: LineType("TF", "toll free"),
    PhoneNumberType.PREMIUM_RATE: LineType("PRM", "premium rate"),
    PhoneNumberType.SHARED_COST: LineType("SC", "shared cost"),
    PhoneNumberType.VOIP: LineType("VOIP", "VoIP"),
    PhoneNumberType.PERSONAL_NUMBER: LineType("PN", "personal number"),
    PhoneNumberType.PAGER: LineType("PAG", "pager"),
    PhoneNumberType.UAN: LineType("UAN", "universal access number"),
    PhoneNumberType.VOICEMAIL: LineType("VM", "voicemail"),
}
_UNKNOWN: Final = LineType("UNK", "unknown")
_LONGEST_PREFIX: Final = max(GEOCODE_LONGEST_PREFIX, CARRIER_LONGEST_PREFIX)
_DESCRIPTIONS: Final = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def lookup_foreign(digits: str) -> ForeignAnswer | NotFound:
    """Describe an international number (digits with the country code) or say it is not a valid number."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return NotFound(digits) if not is_kazakh(digits) else kazakh_unknown(digits)
    if not phonenumbers.is_valid_number(number):
        return NotFound(digits) if not is_kazakh(digits) else kazakh_unknown(digits)
    country_code: int = number.country_code or 0
    region = phonenumbers.region_code_for_number(number) or ""
    number_type = phonenumbers.number_type(number)
    country = ascii_fold(geocoder.country_name_for_number(number, "en"))
    place = ascii_fold(geocoder.description_for_number(number, "en"))
    if region == RUSSIA_ISO and len(digits) == 11 and digits.startswith("780"):
        return _russian_non_geographic(digits)
    shortest, longest = _lengths(region, country_code, number_type, len(digits))
    return ForeignAnswer(
        digits=digits,
        country_code=country_code,
        destination=country,
        region_iso=region,
        line_type=_TYPES.get(number_type, _UNKNOWN),
        location=place if place and place != country else None,
        carrier=ascii_fold(carrier.name_for_number(number, "en")) or None,
        cns=int(_determining_prefix(digits, country_code)),
        min_length=shortest,
        max_length=longest,
        timezones=tuple(timezone.time_zones_for_number(number)),
    )


def kazakh_unknown(digits: str) -> ForeignAnswer:
    """A +7 6xx/7xx number libphonenumber does not know (6xx: Kazakhstan's codes it has no ranges for yet):
    still Kazakhstan's, of unknown type."""
    return ForeignAnswer(
        digits=digits,
        country_code=7,
        destination="Kazakhstan",
        region_iso="KZ",
        line_type=_UNKNOWN,
        location=None,
        carrier=None,
        cns=int(digits[:2]),
        min_length=11,
        max_length=11,
    )


def _russian_non_geographic(digits: str) -> ForeignAnswer:
    """A Russian 80x number outside the loaded registry, answered as the registry's own 80x ranges are:
    libphonenumber has no country name (``""``), a 7..15 length range and no prefix data for these."""
    return ForeignAnswer(
        digits=digits,
        country_code=7,
        destination="Russia",
        region_iso=RUSSIA_ISO,
        line_type=russian_line_type(int(digits[1:4])),
        location=None,
        carrier=None,
        cns=int(digits[:4]),  # the code, as for a registry range that spans its whole code
        min_length=11,
        max_length=11,
    )


def _lengths(region: str, country_code: int, number_type: int, actual: int) -> tuple[int, int]:
    """Possible lengths of numbers of this region and type, counting the country code's digits."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return actual, actual
    general = metadata.general_desc
    desc = getattr(metadata, _DESCRIPTIONS.get(number_type, "general_desc"), None) or general
    lengths = (desc.possible_length if desc is not None else None) or (
        general.possible_length if general is not None else None
    )
    if not lengths or lengths == (-1,):
        return actual, actual
    extra = len(str(country_code))
    return min(lengths) + extra, max(lengths) + extra


def _determining_prefix(digits: str, country_code: int) -> str:
    """The longest prefix of the number that libphonenumber's geocoder or carrier data has an entry for."""
    for length in range(min(len(digits), _LONGEST_PREFIX), len(str(country_code)), -1):
        prefix = digits[:length]
        if prefix in GEOCODE_DATA or prefix in CARRIER_DATA:
            return prefix
    return str(country_code)
