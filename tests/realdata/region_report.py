"""How every registry generation's regions map onto the federal subjects: the table in docs/data.md.

    python -m tests.realdata.region_report     # prints the Markdown table

Each real registry copy of tests/realdata is read the way an import reads it (:func:`read_registry`, then
:func:`place`); ``tests/data/test_subjects.py`` checks that docs/data.md shows exactly this table.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from tests.realdata import ROSSVYAZ
from worker.data.formats.places import place
from worker.data.formats.registry import read_registry

# (generation, file under tests/realdata/rossvyaz), oldest first
FILES: tuple[tuple[str, str], ...] = (
    ("2014, cp1251", "historical/2014-11-18_cp1251/Kody_ABC-3kh.csv"),
    ("2014, cp1251", "historical/2014-11-18_cp1251/Kody_ABC-8kh.csv"),
    ("2014, cp1251", "historical/2014-11-18_cp1251/Kody_DEF-9kh.csv"),
    ("2020, 6 columns", "historical/2020-08-31_6col/DEF-9xx.csv"),
    ("2023, 7 columns", "historical/2023-07-23_7col/DEF-9xx.csv"),
    ("2026-04, 8 columns", "snapshots/2026-04-20/DEF-9xx.csv"),
    ("2026-08, 8 columns", "DEF-9xx.csv"),
    ("2026, 8 columns", "abc-sample/ABC-3xx-sample.csv"),
    ("2026, 8 columns", "abc-sample/ABC-8xx-sample.csv"),
)


class Line(NamedTuple):
    generation: str
    file: str
    rows: int
    mapped: int
    unmapped: Counter[str]


def report() -> list[Line]:
    lines = []
    for generation, relative in FILES:
        rows = mapped = 0
        unmapped: Counter[str] = Counter()
        for row in read_registry(ROSSVYAZ / relative):
            where = place(row.region, row.gar)
            rows += 1
            if where.mapped:
                mapped += 1
            else:
                unmapped[where.subject] += 1
        lines.append(Line(generation, relative, rows, mapped, unmapped))
    return lines


def markdown(lines: list[Line]) -> str:
    table = [
        "| generation | file | rows imported | region mapped to a subject | kept unmapped"
        " | unmapped values (rows) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for line in lines:
        examples = ", ".join(f"`{value}` ({rows})" for value, rows in line.unmapped.most_common()) or "–"
        kept = line.unmapped.total()
        table.append(
            f"| {line.generation} | `{line.file}` | {line.rows:,} | {line.mapped:,} | {kept:,} | {examples} |"
        )
    return "\n".join(table) + "\n"


if __name__ == "__main__":
    print(markdown(report()), end="")
