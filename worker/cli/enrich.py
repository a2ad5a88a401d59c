"""``numlookup enrich FILE…``: a CRM export in, the same rows out with the answer's columns added.

Each input (CSV or XLSX, see :mod:`worker.cli.sheets`) gives ``FILE.enriched.csv`` beside it (``crm.csv`` →
``crm.enriched.csv``) unless ``-o`` names the output (a file for one input, a directory for several). The
output keeps the input's encoding, BOM and delimiter (XLSX: UTF-8 with BOM and ``;``, which Excel opens as
it is), every row and every field, and appends the columns of :mod:`worker.answer.table`. Rows stream in
batches of :data:`BATCH`, so memory does not grow with the file; the output appears under its name only
once complete.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TextIO

from worker.answer.table import COLUMNS, failed
from worker.cli.progress import Progress
from worker.cli.sheets import (
    SAMPLE_ROWS,
    Batch,
    CsvFormat,
    looks_like_header,
    phone_column,
    read_csv,
    read_xlsx,
    sniff_csv,
)
from worker.errors import ConfigError, MalformedInput
from worker.lookup.batch import BatchLookup
from worker.lookup.engine import LookupEngine
from worker.service.resources import open_engine, open_redis
from worker.settings import Settings

BATCH: Final = 8_000  # rows at a time: also bounds the ported pages one batch maps in
NO_CELL: Final = "no phone column in this row"
PREFIX: Final = "numlookup_"  # for an added column whose name the input already uses


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    enrich = commands.add_parser(
        "enrich",
        help="add operator, region, time zone... columns to CSV/XLSX files of phone numbers",
        description="Writes FILE.enriched.csv beside each FILE (or -o): every row kept, columns added: "
        + ", ".join(COLUMNS)
        + ".",
    )
    enrich.add_argument("files", nargs="+", type=Path, metavar="FILE")
    enrich.add_argument("-o", "--output", type=Path, help="output file (one input) or directory")
    enrich.add_argument(
        "--column", help="the phone column: its header or its 1-based number (default: found)"
    )
    enrich.set_defaults(handler=cmd_enrich)


def cmd_enrich(settings: Settings, args: argparse.Namespace) -> int:
    targets = [(source, output_path(source, args.output, len(args.files))) for source in args.files]
    for source, _ in targets:
        if not source.is_file():
            raise ConfigError(f"{source}: no such file")

    async def run() -> int:
        async with (
            open_redis(settings) as redis,
            open_engine(settings, redis, follow_updates=False, preload=False) as engine,
        ):
            for source, target in targets:
                try:
                    enrich_file(engine, source, target, column=args.column)
                except OSError as error:  # unreadable input, no such output directory, disk full...
                    raise ConfigError(f"{source} → {target}: {error.strerror or error}") from error
        return 0

    return asyncio.run(run())


def output_path(source: Path, output: Path | None, inputs: int) -> Path:
    name = f"{source.stem}.enriched.csv"
    if output is None:
        return source.with_name(name)
    if inputs > 1 or output.is_dir():
        return output / name
    return output


def enrich_file(
    engine: LookupEngine,
    source: Path,
    target: Path,
    *,
    column: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Enrich one file; returns the number of data rows written."""
    batches: Iterator[Batch]
    if source.suffix.lower() in (".xlsx", ".xlsm"):
        lines, batches = read_xlsx(source, BATCH)
        form = CsvFormat("utf-8", True, ";", lines or 0)
    else:
        form = sniff_csv(source)
        batches = read_csv(source, form, BATCH)
    progress = progress or Progress()
    first = next(batches, Batch([], {}))
    header = first.rows[0] if first.rows and looks_like_header(first.rows[0]) else None
    if header is not None:
        first = Batch(first.rows[1:], {index - 1: why for index, why in first.broken.items() if index})
    sample = first.rows[:SAMPLE_ROWS]
    try:
        phone = phone_column(header, sample, column)
    except ValueError as error:
        raise MalformedInput(source, 0, str(error)) from None
    width = len(header) if header is not None else max((len(fields) for fields in sample), default=0)
    width = max(width, phone + 1)
    lookup = BatchLookup(engine)
    total = max(form.lines - (1 if header is not None else 0), 0) or None
    written = 0
    scratch = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with _open_output(scratch, form) as stream:
            writer = csv.writer(stream, delimiter=form.delimiter, lineterminator="\r\n")
            if header is not None:
                writer.writerow(_padded(header, width) + added_names(header))
            for batch in _without_cycle_collection(itertools.chain([first], batches)):
                _enrich(batch, lookup, phone, width)
                writer.writerows(batch.rows)
                written += len(batch.rows)
                progress(source.name, written, total)
        scratch.replace(target)  # complete or absent: never half a file under the output's name
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    progress.finish(f"{source.name}: {written:,} rows → {target}")
    return written


def _without_cycle_collection(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The batches, with the cyclic garbage collector paused meanwhile: millions of short-lived row lists
    set it off thousands of times (a fifth of the run), and rows make no cycles (refcounting frees them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield from batches
    finally:
        if enabled:
            gc.enable()


def added_names(header: list[str]) -> list[str]:
    taken = set(header)
    return [PREFIX + name if name in taken else name for name in COLUMNS]


def _open_output(path: Path, form: CsvFormat) -> TextIO:
    encoding = "utf-8-sig" if form.bom else form.encoding
    return open(path, "w", encoding=encoding, errors="replace", newline="")


def _padded(fields: list[str], width: int) -> list[str]:
    return fields + [""] * (width - len(fields)) if len(fields) < width else fields[:width]


def _enrich(batch: Batch, lookup: BatchLookup, phone: int, width: int) -> None:
    """Each row (in place) padded to the header's width, the added columns, then any fields past the
    header's width (kept, after ours, so that ours stay aligned)."""
    rows = batch.rows
    answers = lookup.run([fields[phone] if phone < len(fields) else "" for fields in rows])
    for fields, added in zip(rows, answers, strict=True):
        count = len(fields)
        if count == width:
            fields.extend(added)
        elif count < width:
            fields.extend([""] * (width - count))
            fields.extend(added if phone < count else failed(NO_CELL))
        else:
            extra = fields[width:]
            del fields[width:]
            fields.extend(added)
            fields.extend(extra)
    error = width + len(COLUMNS) - 1
    for index, why in batch.broken.items():  # looked up all the same, on the fields split by the delimiter
        fields = rows[index]
        fields[error] = "; ".join(reason for reason in (why, fields[error]) if reason)
