"""An answer as the columns ``numlookup enrich`` adds to a CRM file: one row of plain text per number.

The values are the API's: ``operator`` and ``old_operator`` as v1 names them, ``region`` the federal subject
and ``locality`` the place before it (v1's ``region``/``locality``), ``country`` v2's ``flag_iso``,
``line_type`` v2's ``description``, ``timezone`` v2's. ``valid`` is 1 for a number that was answered, 0
otherwise, with ``error`` saying why.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from worker.answer.model import (
    RUSSIA_ISO,
    Allocation,
    ForeignAnswer,
    LineType,
    NotFound,
    Operator,
    RussianAnswer,
)
from worker.answer.timezones import range_zones, subject_of, zones_of
from worker.answer.voxlink import Outcome
from worker.numbers import is_russian

COLUMNS: Final = (
    "operator", "old_operator", "ported", "region", "locality", "country", "line_type", "timezone", "valid",
    "error",
)  # fmt: skip
EMPTY: Final = "empty"
NOT_IN_REGISTRY: Final = "not in the Russian numbering registry"
NOT_VALID: Final = "not a valid number of any country"


def columns(outcome: Outcome) -> tuple[str, ...]:
    """The added columns of one number, in :data:`COLUMNS` order."""
    if isinstance(outcome, RussianAnswer):
        return _russian(outcome)
    if isinstance(outcome, ForeignAnswer):
        zones = zones_of(outcome)
        return (
            outcome.carrier or "",
            "",
            "",
            outcome.location or "",
            "",
            outcome.region_iso,
            outcome.line_type.description,
            zones.main if zones is not None else "",
            "1",
            "",
        )
    if isinstance(outcome, NotFound):
        reason = NOT_IN_REGISTRY if is_russian(outcome.digits) else NOT_VALID
        return failed(reason)
    return failed(EMPTY if not outcome.raw.strip() else outcome.reason)


def failed(reason: str) -> tuple[str, ...]:
    return ("",) * (len(COLUMNS) - 2) + ("0", reason)


def _russian(answer: RussianAnswer) -> tuple[str, ...]:
    return operator_columns(answer.operator, answer.old_operator) + place_columns(answer.allocation)


def operator_columns(operator: Operator, old: Operator | None) -> tuple[str, ...]:
    """``operator``, ``old_operator``, ``ported`` of a Russian number."""
    return (operator.brand, "", "0") if old is None else (operator.brand, old.brand, "1")


def place_columns(allocation: Allocation) -> tuple[str, ...]:
    """The columns after :func:`operator_columns`: ``region``, ``locality``, ``country``, ``line_type``,
    ``timezone``, ``valid``, ``error`` of a range, the same for every number in it."""
    locality = getattr(allocation, "locality", None)
    return _place(allocation.code, allocation.region, locality, allocation.line_type)


@lru_cache(maxsize=8192)
def _place(code: str, region: str, locality: str | None, line_type: LineType) -> tuple[str, ...]:
    zones = range_zones(code, region, locality)
    subject, place = split_region(region, locality)
    zone = zones.main if zones is not None else ""
    return (subject, place, RUSSIA_ISO, line_type.description, zone, "1", "")


def split_region(region: str, locality: str | None) -> tuple[str, str]:
    """(subject, locality): the registry's own locality when it names one, else the parts of an older
    region before its subject: ``г. Казань, Республика Татарстан`` → (``Республика Татарстан``,
    ``г. Казань``)."""
    if locality is not None:
        return region, locality
    head, separator, tail = region.rpartition(", ")
    if separator and subject_of(tail) is not None:
        return tail, head
    return region, ""
