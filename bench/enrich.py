"""``numlookup enrich`` on a generated 1,000,000-row CRM export: rows per second and peak RSS.

    python bench/data_import.py            # once: imports the full-size synthetic dataset
    python bench/enrich.py [--data-dir /tmp/numlookup-bench/data] [--rows 1000000]

The file (UTF-8, ``;``, four columns, written once under ``--work``) mixes what CRM exports hold: allocated
mobile numbers in several spellings (70 %), ported ones (20 %), fixed lines (5 %), numbers in no range (1 %),
foreign and Kazakh numbers (2 %), empty and junk cells (2 %).
Prints, in one run so that they share the machine's load:

- baseline: the same file read and written by the ``csv`` module with no lookup (the floor of any enrich);
- the per-row path: ``LookupEngine.lookup_now`` + the columns, one number at a time (on 200,000 rows);
- ``numlookup enrich`` itself, in its own process: rows/s and its peak RSS (target ≥ 200,000, ≤ 300 MB), on
  that file and on one of Russian numbers only (where libphonenumber, ~110 MB, is never loaded).
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from worker.answer.table import columns
from worker.data.dataset.store import LocalStore
from worker.errors import InvalidNumber
from worker.lookup.engine import LookupEngine

DEFAULT_DATA = Path("/tmp/numlookup-bench/data")  # written by bench/data_import.py


def spell(rng: random.Random, national: int) -> str:
    digits = f"{national:010d}"
    form = rng.randrange(4)
    if form == 0:
        return "7" + digits
    if form == 1:
        return "8" + digits
    if form == 2:
        return f"+7 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    return "+7" + digits


def generate(path: Path, rows: int, dataset_dir: Path, *, russian_only: bool = False) -> None:
    dataset = LocalStore(dataset_dir).open()
    ported = dataset.ported_arrays()[0]
    rng = random.Random(14)

    def allocated(low: int, span: int) -> int:
        """A random number of an allocated range (as a CRM's numbers are): drawn until one is."""
        while True:
            national = low + rng.randrange(span)
            if dataset.allocation(national) is not None:
                return national

    foreign = ["+12125551234", "+358181201235", "+4915123456789", "+77012345678", "+77172123456"]
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["id", "Клиент", "Телефон", "Комментарий"])
        for row in range(rows):
            kind = rng.random() * (0.95 if russian_only else 1.0)
            if kind < 0.70:
                phone = spell(rng, allocated(9_000_000_000, 10**9))
            elif kind < 0.90:
                phone = spell(rng, int(ported[rng.randrange(len(ported))]))
            elif kind < 0.95:
                phone = spell(rng, allocated(3_000_000_000, 6 * 10**9))
            elif kind < 0.96:  # Russian, in no range: libphonenumber answers, one number at a time
                phone = spell(rng, 9_000_000_000 + rng.randrange(10**9))
            elif kind < 0.98:
                phone = rng.choice(foreign)
            else:
                phone = rng.choice(["", "нет", "123", "+7 000"])
            writer.writerow([row, f"Клиент {row}", phone, "перезвонить" if row % 7 == 0 else ""])
    dataset.close()


def baseline(path: Path, out: Path) -> float:
    """Rows/s of reading and writing the file with the csv module and nothing else."""
    started = time.perf_counter()
    count = 0
    with (
        open(path, encoding="utf-8", newline="") as source,
        open(out, "w", encoding="utf-8", newline="") as sink,
    ):
        writer = csv.writer(sink, delimiter=";")
        for fields in csv.reader(source, delimiter=";"):
            writer.writerow(fields)
            count += 1
    return count / (time.perf_counter() - started)


def per_row(path: Path, dataset_dir: Path, limit: int) -> float:
    engine = LookupEngine(LocalStore(dataset_dir).open())
    with open(path, encoding="utf-8", newline="") as source:
        reader = csv.reader(source, delimiter=";")
        next(reader)
        phones = [fields[2] for _, fields in zip(range(limit), reader, strict=False)]
    started = time.perf_counter()
    for phone in phones:
        try:
            columns(engine.lookup_now(phone))
        except InvalidNumber as error:
            columns(error)
    return len(phones) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/numlookup-bench/enrich"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if LocalStore(args.data_dir).current_version() is None:
        sys.exit(f"no dataset in {args.data_dir}: run python bench/data_import.py first")
    args.work.mkdir(parents=True, exist_ok=True)
    source = args.work / f"crm-v2-{args.rows}.csv"
    if not source.is_file():
        print(f"generating {args.rows:,} rows...", flush=True)
        generate(source, args.rows, args.data_dir)
    print(f"input: {source} ({source.stat().st_size / 2**20:.0f} MB, {args.rows:,} rows)")
    print(f"baseline, csv read + write only: {baseline(source, args.work / 'copy.csv'):,.0f} rows/s")
    print(
        f"per-row engine path (lookup_now + columns): {per_row(source, args.data_dir, 200_000):,.0f} rows/s"
    )
    enrich(source, args, "mixed file")
    russian = args.work / f"crm-ru-{args.rows}.csv"
    if not russian.is_file():
        generate(russian, args.rows, args.data_dir, russian_only=True)
    enrich(russian, args, "Russian numbers only (libphonenumber never loaded)")


def enrich(source: Path, args: argparse.Namespace, label: str) -> None:
    """Three runs, each in a new process: the best shows the code, the spread the machine's noise."""
    target = args.work / "crm.enriched.csv"
    # VmHWM of the enrich process itself: getrusage's children maxrss would count this process's memory,
    # which the child holds between fork and exec.
    run = RUN_AND_REPORT.format(
        argv=["--data-dir", str(args.data_dir), "enrich", str(source), "-o", str(target)]
    )
    times: list[float] = []
    peaks: list[float] = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = subprocess.run(
            [sys.executable, "-c", run], check=True, cwd=ROOT, stderr=subprocess.DEVNULL,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
        peaks.append(int(report.stdout.split()[-1]) / 1024)
    with open(target, "rb") as written:
        lines = sum(block.count(b"\n") for block in iter(lambda: written.read(1 << 20), b""))
    rates = sorted(args.rows / elapsed for elapsed in times)
    print(f"numlookup enrich, {label}: best {rates[-1]:,.0f} rows/s, median {rates[len(rates) // 2]:,.0f} "
          f"(process start included), peak RSS {max(peaks):.0f} MB; {lines - 1:,} rows written")  # fmt: skip


RUN_AND_REPORT = """
import re, sys
from worker.cli.main import main
status = main({argv!r})
print(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
sys.exit(status)
"""

if __name__ == "__main__":
    main()
