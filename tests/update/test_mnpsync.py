"""MNP sync: new files applied in order, exactly once, across crashes; a snapshot resets the state."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.update.versions import publish_version
from worker.answer.model import Operator
from worker.data.dataset.format import Meta
from worker.data.dataset.store import LocalStore
from worker.data.updates.mnpsync import STATE_FILE, SyncState, scan, sync
from worker.errors import DataError

MTS = Operator("7740000076", 'ПАО "МТС"', "МТС")
RANGES = [(9170000000, 9179999999, MTS, "г. Москва")]


class Recorder:
    """An MNP importer that publishes a version and remembers each batch; fails before/after publishing."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail: str | None = None  # "before" or "after" publishing, once

    def __call__(self, store: LocalStore, paths: Sequence[Path]) -> Meta:
        if self.fail == "before":
            self.fail = None
            raise RuntimeError("killed before publishing")
        self.batches.append([path.name for path in paths])
        meta = publish_version(store, RANGES)
        if self.fail == "after":
            self.fail = None
            raise RuntimeError("killed after publishing")
        return meta


@pytest.fixture
def mnp_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "sftp"
    directory.mkdir()
    return directory


def drop(directory: Path, name: str, content: str = "NPId,Number\n1,9170000001\n") -> None:
    (directory / name).write_text(content, encoding="utf-8")


@pytest.fixture
def recorder(store: LocalStore) -> Recorder:
    publish_version(store, RANGES)
    return Recorder()


def test_increments_apply_in_order_exactly_once(store: LocalStore, mnp_dir: Path, recorder: Recorder) -> None:
    drop(mnp_dir, "Port_Increment_20260102_000000.csv")
    drop(mnp_dir, "Return_Increment_20260101_120000.csv")
    drop(mnp_dir, "Port_Increment_20260101_000000.csv")
    drop(mnp_dir, "notes.txt")  # not an MNP file: ignored
    report = sync(store, mnp_dir, recorder)
    assert report.applied == [
        "Port_Increment_20260101_000000.csv",
        "Return_Increment_20260101_120000.csv",
        "Port_Increment_20260102_000000.csv",
    ]
    assert report.version == store.current_version()
    assert sync(store, mnp_dir, recorder).applied == []
    drop(mnp_dir, "Port_Increment_20260103_000000.csv")
    assert sync(store, mnp_dir, recorder).applied == ["Port_Increment_20260103_000000.csv"]
    assert len(recorder.batches) == 2


def test_a_snapshot_resets_and_supersedes_older_increments(
    store: LocalStore, mnp_dir: Path, recorder: Recorder
) -> None:
    drop(mnp_dir, "Port_Increment_20260101_000000.csv")
    sync(store, mnp_dir, recorder)
    drop(mnp_dir, "Port_Increment_20260104_000000.csv")  # older than the snapshot: inside it already
    drop(mnp_dir, "Port_All_20260105_000000.zip")
    drop(mnp_dir, "Port_Increment_20260106_000000.csv")
    report = sync(store, mnp_dir, recorder)
    assert report.applied == ["Port_All_20260105_000000.zip", "Port_Increment_20260106_000000.csv"]
    assert report.superseded == ["Port_Increment_20260104_000000.csv"]
    drop(mnp_dir, "Port_Increment_20260103_000000.csv")  # arrives late, still older than the snapshot
    assert sync(store, mnp_dir, recorder).applied == []
    assert recorder.batches[-1][0] == "Port_All_20260105_000000.zip"
    assert SyncState.load(store.root / STATE_FILE).snapshot == "Port_All_20260105_000000.zip"


def test_a_file_changed_after_it_was_applied_is_refused(
    store: LocalStore, mnp_dir: Path, recorder: Recorder
) -> None:
    drop(mnp_dir, "Port_Increment_20260101_000000.csv")
    sync(store, mnp_dir, recorder)
    drop(mnp_dir, "Port_Increment_20260101_000000.csv", "NPId,Number\n2,9170000002\n")
    with pytest.raises(DataError, match="changed after it was applied"):
        sync(store, mnp_dir, recorder)


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_crash_neither_loses_nor_repeats_a_batch(
    store: LocalStore, mnp_dir: Path, recorder: Recorder, moment: str
) -> None:
    drop(mnp_dir, "Port_Increment_20260101_000000.csv")
    recorder.fail = moment
    with pytest.raises(RuntimeError, match=f"killed {moment}"):
        sync(store, mnp_dir, recorder)
    sync(store, mnp_dir, recorder)  # the next run settles the pending batch
    assert recorder.batches == [["Port_Increment_20260101_000000.csv"]]  # applied once, either way
    assert sync(store, mnp_dir, recorder).applied == []


def test_scan_orders_by_the_time_in_the_name(mnp_dir: Path) -> None:
    for name in ("Port_Increment_20251231_235959.csv", "Port_All_Full_20260101_000000.csv.zip"):
        drop(mnp_dir, name)
    assert [(item.name, item.kind) for item in scan(mnp_dir)] == [
        ("Port_Increment_20251231_235959.csv", "port_increment"),
        ("Port_All_Full_20260101_000000.csv.zip", "snapshot"),
    ]


def test_missing_directory_is_a_clear_error(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a directory"):
        sync(store, tmp_path / "nowhere", Recorder())
