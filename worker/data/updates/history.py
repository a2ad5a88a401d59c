"""Dataset history: list the kept versions, go back one, and say what changed between two of them.

The diff is a merge-walk over both versions' ranges, sorted by (start, end): one pass, O(n + m). A range is
*the same* when its start and end are; then a different operator (by ИНН, the registry's stable key) counts as
*moved to another operator* and a different region as *moved to another region*. Every other range of the old
version was *removed* and of the new one *added* (a split range is one removed and two added).

Regions are compared by :func:`region_key`, so a respelling is not a move: the registry writes the same
region several ways ("Свердловская обл." in the ``Регион`` column, "Свердловская область" in ``Территория
ГАР``, which a growing number of rows fall back to); respellings are counted on their own line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from worker.answer.model import Allocation, Operator
from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.errors import DataError


@dataclass(frozen=True)
class VersionInfo:
    meta: Meta
    current: bool


def list_versions(store: LocalStore) -> list[VersionInfo]:
    """Kept versions, oldest first."""
    current = store.current_version()
    infos = []
    for version in store.versions():
        dataset = store.open(version)
        try:
            infos.append(VersionInfo(dataset.meta, version == current))
        finally:
            dataset.close()
    return infos


def previous_version(store: LocalStore, version: str | None = None, kept: list[str] | None = None) -> str:
    """The kept version just before ``version`` (default: the current one) among ``kept`` (default: the
    local store's versions; the CLI adds those Redis keeps)."""
    version = version or store.current_version()
    versions = sorted(kept) if kept is not None else store.versions()
    if version is None or version not in versions:
        raise DataError("no current dataset version to go back from")
    index = versions.index(version)
    if index == 0:
        raise DataError(f"{version} is the oldest version kept: nothing to go back to")
    return versions[index - 1]


def rollback(store: LocalStore) -> tuple[str, str]:
    """Point ``CURRENT`` at the version before the current one; returns (from, to).

    Running engines follow ``CURRENT`` and switch within their reload interval, as for an update.
    """
    current = store.current_version()
    target = previous_version(store, current)
    store.point_to(target)
    return str(current), target


def resolve(store: LocalStore, name: str) -> str:
    """A version by its full name, a unique prefix, or ``current`` / ``previous``."""
    if name == "current":
        current = store.current_version()
        if current is None:
            raise DataError("no current dataset version")
        return current
    if name == "previous":
        return previous_version(store)
    kept = store.versions()
    matches = [name] if name in kept else [version for version in kept if version.startswith(name)]
    if len(matches) != 1:
        known = ", ".join(kept) or "none"
        what = "is ambiguous" if matches else "matches no kept version"
        raise DataError(f"{name!r} {what} (kept: {known})")
    return matches[0]


_WORDS: Final = {
    "обл": "область",
    "ао": "автономный округ",
    "респ": "республика",
    "кр": "край",
    "г": "",
    "город": "",
    "и": "",
}


def region_key(region: str) -> str:
    """A region's words, abbreviations expanded, order and punctuation ignored.

    "г. Москва и Московская область", "Город Москва, Московская область" and "Москва и Московская область"
    share one key; so do "Ханты - Мансийский - Югра АО" and "Ханты-Мансийский автономный округ - Югра".
    """
    words = re.findall(r"[а-яa-z0-9]+", region.lower().replace("ё", "е"))
    expanded = {part for word in words for part in _WORDS.get(word, word).split()}
    return " ".join(sorted(expanded))


def _operator_key(operator: Operator) -> str:
    return operator.inn or operator.name


def _operator_label(operator: Operator) -> str:
    return f"{operator.name} ({operator.inn})" if operator.inn else operator.name


@dataclass
class Tally:
    """Ranges and numbers per key (an operator, or an "old → new" pair)."""

    ranges: Counter[str] = field(default_factory=Counter)
    numbers: Counter[str] = field(default_factory=Counter)

    def add(self, key: str, allocation: Allocation) -> None:
        self.ranges[key] += 1
        self.numbers[key] += allocation.end - allocation.start + 1

    @property
    def total_ranges(self) -> int:
        return sum(self.ranges.values())

    @property
    def total_numbers(self) -> int:
        return sum(self.numbers.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "ranges": self.total_ranges,
            "numbers": self.total_numbers,
            "by_operator": [
                {"key": key, "ranges": count, "numbers": self.numbers[key]}
                for key, count in self.ranges.most_common()
            ],
        }


@dataclass
class Diff:
    old: str
    new: str
    old_ranges: int = 0
    new_ranges: int = 0
    unchanged: int = 0
    added: Tally = field(default_factory=Tally)
    removed: Tally = field(default_factory=Tally)
    operator_moved: Tally = field(default_factory=Tally)  # key: "old → new"
    region_moved: Tally = field(default_factory=Tally)  # key: the operator (after the change)
    region_respelled: int = 0  # same range, same region written differently

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "old_ranges": self.old_ranges,
            "new_ranges": self.new_ranges,
            "unchanged": self.unchanged,
            "added": self.added.to_json(),
            "removed": self.removed.to_json(),
            "moved_operator": self.operator_moved.to_json(),
            "moved_region": self.region_moved.to_json(),
            "region_respelled": self.region_respelled,
        }


def diff_ranges(
    old: Iterable[Allocation], new: Iterable[Allocation], *, old_name: str, new_name: str
) -> Diff:
    """Merge-walk two range sequences sorted by start (as :meth:`Dataset.iter_ranges` gives them)."""
    report = Diff(old_name, new_name)
    olds, news = _sorted(old), _sorted(new)
    a, b = next(olds, None), next(news, None)
    while a is not None or b is not None:
        if b is None or (a is not None and (a.start, a.end) < (b.start, b.end)):
            assert a is not None
            report.removed.add(_operator_label(a.operator), a)
            report.old_ranges += 1
            a = next(olds, None)
        elif a is None or (b.start, b.end) < (a.start, a.end):
            report.added.add(_operator_label(b.operator), b)
            report.new_ranges += 1
            b = next(news, None)
        else:
            _compare_same(report, a, b)
            report.old_ranges += 1
            report.new_ranges += 1
            a, b = next(olds, None), next(news, None)
    return report


def _compare_same(report: Diff, a: Allocation, b: Allocation) -> None:
    moved_operator = _operator_key(a.operator) != _operator_key(b.operator)
    if moved_operator:
        report.operator_moved.add(f"{_operator_label(a.operator)} → {_operator_label(b.operator)}", b)
    moved_region = a.region != b.region and region_key(a.region) != region_key(b.region)
    if moved_region:
        report.region_moved.add(_operator_label(b.operator), b)
    elif a.region != b.region:
        report.region_respelled += 1
    if not moved_operator and not moved_region:
        report.unchanged += 1


def _sorted(ranges: Iterable[Allocation]) -> Iterator[Allocation]:
    """The ranges, checked to be in (start, end) order: a walk over unsorted input would be silently wrong."""
    previous = (-1, -1)
    for allocation in ranges:
        key = (allocation.start, allocation.end)
        if key < previous:
            raise DataError("ranges are not sorted by start; cannot diff")
        previous = key
        yield allocation


def diff_versions(store: LocalStore, old: str, new: str) -> Diff:
    old_set, new_set = store.open(old), store.open(new)
    try:
        return diff_ranges(old_set.iter_ranges(), new_set.iter_ranges(), old_name=old, new_name=new)
    finally:
        old_set.close()
        new_set.close()


def render(diff: Diff, *, top: int = 15) -> str:
    """The human-readable report."""
    lines = [
        f"{diff.old} → {diff.new}",
        f"ranges: {diff.old_ranges:,} → {diff.new_ranges:,} ({diff.new_ranges - diff.old_ranges:+,}); "
        f"unchanged {diff.unchanged:,} (of which {diff.region_respelled:,} with the region respelled)",
    ]
    sections = (
        ("added", diff.added),
        ("removed", diff.removed),
        ("moved to another operator (old → new)", diff.operator_moved),
        ("moved to another region (by operator)", diff.region_moved),
    )
    for title, tally in sections:
        lines.append("")
        lines.append(f"{title}: {tally.total_ranges:,} ranges, {tally.total_numbers:,} numbers")
        for key, count in tally.ranges.most_common(top):
            lines.append(f"  {count:>7,} ranges {tally.numbers[key]:>13,} numbers  {key}")
        rest = len(tally.ranges) - top
        if rest > 0:
            lines.append(f"  … and {rest} more (--json for all)")
    return "\n".join(lines)
