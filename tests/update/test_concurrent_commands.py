"""Import, import-mnp, update and rollback started in random overlapping order, as separate processes.

Every round starts a few commands at random moments a fraction of a second apart. Afterwards the commands'
own reports ("built on", "previous", "was") must chain from the version serving before the round to the one
serving after it, each version holding exactly what its command asked for on top of the one before: a command
that reported success for work a concurrent one dropped breaks the chain. Locally (one data dir) and with
Redis (two hosts' data dirs publishing to one Redis, so the data lease is what serialises them).
"""

from __future__ import annotations

import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import REAL_REDIS_URL, real_redis_sync
from tests.update.portal_fake import FILES, ROWS, FakePortal, registry_csv
from worker.data.dataset import ported
from worker.data.dataset.redis_store import Keys
from worker.data.dataset.store import LocalStore

REPO = Path(__file__).resolve().parents[2]
BASE_RANGES = sum(len(rows) for rows in ROWS.values())
OPERATORS_CSV = (
    "OrgCode,MNC,TIN,OrgName,RowCount\n"
    'mMTS,01,7740000076,"ПАО ""МТС""",2\n'
    'mMEGAFON,02,7812014560,"ПАО ""МЕГАФОН""",\n'
)
INCREMENT_HEADER = (
    "NPId,Number,RecipientId,DonorId,RangeHolderId,OldRoute,NewRoute,"
    "OldMNC,NewMNC,RegionCode,PortDate,RowCount"
)


def extra_ranges(count: int, code: int) -> list[tuple[int, int, int, str, str, str]]:
    return [
        (code, index * 1000, index * 1000 + 999, 'ООО "МАРКЕР"', "г. Москва", "7700000001")
        for index in range(count)
    ]


def write_registry(directory: Path, extra: int) -> Path:
    """The portal's four files with ``extra`` more ranges: the range count says which registry it was."""
    directory.mkdir(parents=True)
    for name in FILES:
        rows = ROWS[name] + (extra_ranges(extra, 958) if name == "DEF-9xx.csv" else [])
        (directory / name).write_bytes(registry_csv(rows))
    return directory


def write_mnp(directory: Path, number: int) -> Path:
    """Operators plus one increment porting ``number`` (in МТС's 917 range) to МегаФон."""
    directory.mkdir(parents=True)
    (directory / "Operators_20260101.csv").write_text(OPERATORS_CSV, encoding="utf-8")
    row = f"1,{number},mMEGAFON,mMTS,mMTS,D0201,D7701,01,02,02,2026-01-02T12:00:00+03:00,1"
    (directory / "Port_Increment_20260102_000001.csv").write_text(
        f"{INCREMENT_HEADER}\n{row}\n", encoding="utf-8"
    )
    return directory


@dataclass
class Done:
    command: str
    argument: int  # registry extra ranges, ported number, portal ranges; 0 for rollback
    status: int
    out: str
    err: str
    base: str | None = None
    result: str | None = None

    def parse(self) -> None:
        patterns = {
            "import": r"dataset (\S+): .*?(?: \(built on (\S+)\))?$",
            "import-mnp": r"dataset (\S+): .*?(?: \(built on (\S+)\))?$",
            "update": r"dataset (\S+) now serving .*previous (\S+)\)$",
            "rollback": r"rolled back: (\S+) now serving \(was (\S+)\)$",
        }
        unchanged = re.search(r"registry unchanged on the portal; (\S+) keeps serving", self.out)
        if self.command == "update" and unchanged:
            self.base = self.result = unchanged[1]
            return
        match = re.search(patterns[self.command], self.out.strip().splitlines()[-1])
        assert match, (self.command, self.out, self.err)
        self.result, base = match[1], match[2]
        self.base = None if base in (None, "none") else base

    @property
    def changes(self) -> bool:
        return self.base != self.result


def start(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "worker", "--data-dir", str(data_dir), "data", *args]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def content(stores: list[LocalStore], version: str) -> tuple[int, frozenset[int]]:
    """(ranges, ported numbers) of a version, from whichever data dir holds it."""
    store = next(store for store in stores if version in store.versions())
    dataset = store.open(version)
    try:
        numbers = frozenset(int(key) for key in ported.numbers_of(dataset.ported_keys()))
        return dataset.meta.ranges, numbers
    finally:
        dataset.close()


def order_of(round_: list[Done], start_version: str | None, end_version: str | None) -> list[Done]:
    """The order the commands really ran in: the one permutation whose reports chain start → end."""
    for order in itertools.permutations(round_):
        current = start_version
        for done in order:
            if done.base != current:
                break
            current = done.result
        else:
            if current == end_version:
                return list(order)
    reports = [(done.command, done.base, done.result) for done in round_]
    raise AssertionError(f"no order of {reports} chains {start_version} → {end_version}: work was lost")


def check(order: list[Done], stores: list[LocalStore], created: list[str]) -> None:
    """Each version holds what its command asked for, on top of the version before it."""
    for done in order:
        if not done.changes:
            continue
        assert done.result is not None
        if done.command == "rollback":
            assert done.base is not None
            assert done.result == max(version for version in created if version < done.base)
            continue
        created.append(done.result)
        before = content(stores, done.base) if done.base else (0, frozenset())
        ranges, numbers = content(stores, done.result)
        if done.command == "import-mnp":
            assert (ranges, numbers) == (before[0], before[1] | {done.argument}), done
        else:  # a registry import or update: its registry, the ported numbers carried over
            assert (ranges, numbers) == (done.argument, before[1]), done


def play(
    tmp_path: Path,
    fake: FakePortal,
    stores: list[LocalStore],
    env: dict[str, str],
    current: Callable[[], str | None],
    *,
    rounds: int,
    seed: int,
) -> None:
    rng = random.Random(seed)
    print(f"seed {seed}")
    registries = {extra: write_registry(tmp_path / f"reg{extra}", extra) for extra in (1, 2, 3)}
    for store in stores:  # a first dataset everywhere, one after the other
        first = start(store.root, env, "import", str(registries[1]))
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    created = sorted({version for store in stores for version in store.versions()})
    portal_ranges = BASE_RANGES
    for round_index in range(rounds):
        portal_extra = 4 + round_index
        portal_ranges = BASE_RANGES + portal_extra
        fake.publish(
            "DEF-9xx.csv",
            registry_csv(ROWS["DEF-9xx.csv"] + extra_ranges(portal_extra, 958)),
            datetime(2026, 8, 1) + timedelta(days=round_index),
        )
        before = current()
        running: list[tuple[str, int, subprocess.Popen[str]]] = []
        for slot in range(4):
            command = rng.choice(["import", "import-mnp", "update", "rollback"])
            store = stores[rng.randrange(len(stores))]
            time.sleep(rng.uniform(0, 0.3))
            if command == "import":
                extra = rng.choice(list(registries))
                running.append(
                    (command, BASE_RANGES + extra, start(store.root, env, command, str(registries[extra])))
                )
            elif command == "import-mnp":
                number = 9170000100 + round_index * 10 + slot
                mnp = write_mnp(tmp_path / f"mnp{number}", number)
                running.append((command, number, start(store.root, env, command, str(mnp))))
            elif command == "update":
                running.append((command, portal_ranges, start(store.root, env, command)))
            else:
                running.append((command, 0, start(store.root, env, command)))
        finished = []
        for command, argument, process in running:
            out, err = process.communicate(timeout=120)
            finished.append(Done(command, argument, process.returncode, out, err))
        for done in finished:
            if done.command == "rollback" and "nothing to go back to" in done.err:
                done.base = done.result = before  # refused, and said so: no change
                continue
            assert done.status == 0, (done.command, done.err)
            done.parse()
        order = order_of(finished, before, current())
        check(order, stores, created)


@pytest.mark.timeout(600)
def test_overlapping_commands_on_one_data_dir(tmp_path: Path, portal_thread: tuple[FakePortal, str]) -> None:
    env = {
        **os.environ,
        "NUMLOOKUP_DATA__PORTAL_URL": portal_thread[1],
        "NUMLOOKUP_DATA__PORTAL_BACKOFF": "0",
        "NUMLOOKUP_DATA__KEEP_VERSIONS": "100",
        "PYTHONPATH": str(REPO),
    }
    env.pop("NUMLOOKUP_REDIS__URL", None)
    store = LocalStore(tmp_path / "data")
    play(
        tmp_path, portal_thread[0], [store], env, store.current_version, rounds=5, seed=random.randrange(1000)
    )


@pytest.mark.timeout(600)
def test_overlapping_commands_on_two_hosts_sharing_redis(
    tmp_path: Path, portal_thread: tuple[FakePortal, str]
) -> None:
    client = real_redis_sync()
    prefix = f"test-concurrent-{os.getpid()}"
    env = {
        **os.environ,
        "NUMLOOKUP_DATA__PORTAL_URL": portal_thread[1],
        "NUMLOOKUP_DATA__PORTAL_BACKOFF": "0",
        "NUMLOOKUP_DATA__KEEP_VERSIONS": "100",
        "NUMLOOKUP_REDIS__URL": REAL_REDIS_URL,
        "NUMLOOKUP_REDIS__PREFIX": prefix,
        "PYTHONPATH": str(REPO),
    }

    def current() -> str | None:
        value = client.get(Keys(prefix).current)
        return value.decode() if isinstance(value, bytes) else None

    stores = [LocalStore(tmp_path / "host-a"), LocalStore(tmp_path / "host-b")]
    try:
        play(tmp_path, portal_thread[0], stores, env, current, rounds=4, seed=random.randrange(1000))
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
