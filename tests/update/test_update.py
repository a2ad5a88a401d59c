"""The update run against the fake portal: skip unchanged files, gate a shrunken registry, keep serving.

The importer here is a recording one that builds a version with one range per data row of the files, so
these tests pin the orchestration; test_update_real.py runs the real importer end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.update.portal_fake import ROWS, FakePortal, registry_csv
from tests.update.versions import publish_version
from worker.answer.model import Operator
from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.updates.portal import Portal
from worker.data.updates.update import UpdateReport, check_loss, parse_interval, run_every, update_registry
from worker.errors import ConfigError, MalformedInput, PortalError, SanityCheckFailed

OPERATOR = Operator("7707049388", "ROSTELECOM", "Ростелеком")


class RowImporter:
    """Builds one range per data row (code, from, to) of the given files; remembers what it was given."""

    def __init__(self) -> None:
        self.calls: list[list[bytes]] = []

    def __call__(self, store: LocalStore, paths: Sequence[Path], published: date) -> Meta:
        self.calls.append([path.read_bytes() for path in paths])
        self.published = published
        ranges = []
        for path in paths:
            for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines()[1:], start=2):
                fields = line.split(";")
                if len(fields) != 8:
                    raise MalformedInput(path, number, f"{len(fields)} columns, not 8")
                code = int(fields[0]) * 10_000_000
                ranges.append((code + int(fields[1]), code + int(fields[2]), OPERATOR, fields[5]))
        return publish_version(store, sorted(ranges, key=lambda item: item[0]), source="portal")


async def run(store: LocalStore, portal: Portal, importer: RowImporter, *, force: bool = False) -> str:
    report = await update_registry(store, portal, importer, max_loss=0.05, keep=5, force=force)
    return report.summary()


async def test_first_run_downloads_all_then_unchanged_files_are_skipped(
    store: LocalStore, portal: Portal, fake_portal: tuple[FakePortal, str]
) -> None:
    fake, _ = fake_portal
    importer = RowImporter()
    assert "now serving (0 → 10 ranges; downloaded ABC-3xx.csv, ABC-4xx.csv" in await run(
        store, portal, importer
    )
    first = store.current_version()
    assert importer.published == date(2026, 7, 18)  # the listing's date is the registry's publication
    assert await run(store, portal, importer) == f"registry unchanged on the portal; {first} keeps serving"
    assert [fake.hits[name] for name in ROWS] == [1, 1, 1, 1]
    assert len(importer.calls) == 1

    rows = [*ROWS["DEF-9xx.csv"], (999, 0, 99999, 'ООО "НОВЫЙ"', "г. Москва", "7700000000")]
    fake.publish("DEF-9xx.csv", registry_csv(rows), datetime(2026, 8, 19, 14, 5))
    summary = await run(store, portal, importer)
    assert "(10 → 11 ranges; downloaded DEF-9xx.csv;" in summary
    assert importer.published == date(2026, 8, 19)  # the newest file dates the registry
    assert [fake.hits[name] for name in ROWS] == [1, 1, 1, 2]  # only the changed file came again
    assert importer.calls[1][:3] == importer.calls[0][:3]  # the others from the kept copies
    assert store.versions() == [first, store.current_version()]


async def test_a_new_time_on_the_same_content_imports_nothing(
    store: LocalStore, portal: Portal, fake_portal: tuple[FakePortal, str]
) -> None:
    fake, _ = fake_portal
    importer = RowImporter()
    await run(store, portal, importer)
    fake.modified["ABC-4xx.csv"] = datetime(2026, 9, 1, 0, 0)
    assert "unchanged" in await run(store, portal, importer)
    assert fake.hits["ABC-4xx.csv"] == 2
    assert len(importer.calls) == 1
    assert "unchanged" in await run(store, portal, importer)
    assert fake.hits["ABC-4xx.csv"] == 2  # the new time was remembered


async def test_a_registry_that_lost_ranges_is_refused_unless_forced(
    store: LocalStore, portal: Portal, fake_portal: tuple[FakePortal, str]
) -> None:
    fake, _ = fake_portal
    await run(store, portal, RowImporter())
    serving = store.current_version()
    fake.publish("DEF-9xx.csv", registry_csv(ROWS["DEF-9xx.csv"][:2]), datetime(2026, 8, 19, 14, 5))
    with pytest.raises(SanityCheckFailed, match=r"8 ranges, 20\.0% fewer than the 10 .*--force"):
        await run(store, portal, RowImporter())
    assert store.current_version() == serving
    assert store.versions() == [serving]
    assert list((store.root / "tmp").iterdir()) == []  # the staging store is gone
    summary = await run(store, portal, RowImporter(), force=True)
    assert "(10 → 8 ranges" in summary


async def test_a_file_that_fails_to_parse_is_refused_and_the_old_data_stays(
    store: LocalStore, portal: Portal, fake_portal: tuple[FakePortal, str]
) -> None:
    fake, _ = fake_portal
    await run(store, portal, RowImporter())
    serving = store.current_version()
    broken = registry_csv(ROWS["ABC-3xx.csv"]) + b"\n301;1;2;3"
    fake.publish("ABC-3xx.csv", broken, datetime(2026, 8, 1, 0, 0))
    with pytest.raises(MalformedInput, match=r"ABC-3xx\.csv:4: 4 columns"):
        await run(store, portal, RowImporter())
    assert store.current_version() == serving
    fake.publish("ABC-3xx.csv", registry_csv(ROWS["ABC-3xx.csv"]), datetime(2026, 8, 2, 0, 0))
    assert "unchanged" in await run(store, portal, RowImporter())  # the failed copy was not remembered


async def test_portal_refusal_leaves_the_dataset(
    store: LocalStore, portal: Portal, fake_portal: tuple[FakePortal, str]
) -> None:
    await run(store, portal, RowImporter())
    serving = store.current_version()
    fake_portal[0].forbid_all = True
    with pytest.raises(PortalError, match="403"):
        await run(store, portal, RowImporter())
    assert store.current_version() == serving


def test_loss_gate_boundaries() -> None:
    check_loss(1000, 950, 0.05)  # exactly 5 % lost: accepted
    check_loss(0, 10, 0.05)  # nothing serving yet
    check_loss(1000, 2000, 0.05)
    with pytest.raises(SanityCheckFailed, match=r"5\.1% fewer"):
        check_loss(1000, 949, 0.05)
    check_loss(1000, 1, 0.05, force=True)


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21600), ("30m", 1800), ("90", 90), ("1d", 86400)])
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "0h", "6 hours", "-1m"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ConfigError, match="not an interval"):
        parse_interval(text)


async def test_schedule_survives_failures_and_stops_on_request(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    outcomes: list[str] = []

    async def job() -> None:
        outcomes.append("run")
        if len(outcomes) == 1:
            raise PortalError("https://portal/", "unreachable")
        if len(outcomes) == 2:
            raise RuntimeError("bug")
        if len(outcomes) == 3:
            stop.set()

    assert await run_every(0, job, stop) == 3
    assert "update failed, the current dataset keeps serving: https://portal/: unreachable" in caplog.text
    assert "update crashed" in caplog.text


async def test_stop_cancels_a_run_in_progress() -> None:
    stop = asyncio.Event()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner = asyncio.create_task(run_every(3600, job, stop))
    await started.wait()
    stop.set()
    assert await runner == 1
    assert cancelled.is_set()


def test_the_summary_counts_regions_that_name_no_subject() -> None:
    report = UpdateReport(True, "v2", "v1", downloaded=["ABC-8xx.csv"], ranges=10, previous_ranges=9)
    assert report.summary().endswith("previous v1)")
    report.unmapped_rows = 3
    assert report.summary().endswith("previous v1; 3 rows name no federal subject)")
