"""The data dir's lock and the data lease: one writer at a time, a crashed holder blocks no one."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from worker.data.dataset.lease import Lease, LeaseLost
from worker.data.dataset.lock import DataDirLock

HOLD = """
import sys, time
from pathlib import Path
from worker.data.dataset.lock import DataDirLock
lock = DataDirLock(Path(sys.argv[1]))
assert lock.try_acquire("numlookup data import")
print("held", flush=True)
time.sleep(60)
"""


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        lock = DataDirLock(tmp_path)
        assert not lock.try_acquire("numlookup data import-mnp")
        assert lock.holder() == f"pid {holder.pid}: numlookup data import"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert lock.try_acquire("numlookup data import-mnp")  # no stale lock to clean up by hand
        lock.release()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]


def test_the_cli_waits_for_the_holder_and_says_for_whom(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    lock = DataDirLock(tmp_path / "data")
    assert lock.try_acquire("numlookup data update")
    command = [sys.executable, "-m", "worker", "--data-dir", str(tmp_path / "data"), "data", "import"]
    importing = subprocess.Popen(
        [*command, str(fixtures)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert importing.stderr is not None
    line = importing.stderr.readline()
    assert line.startswith("waiting for pid ")
    assert line.endswith(": numlookup data update to finish\n")
    assert importing.poll() is None  # still waiting, nothing imported
    assert not (tmp_path / "data" / "CURRENT").exists()
    lock.release()
    out, _ = importing.communicate(timeout=60)
    assert importing.returncode == 0
    assert "8 ranges" in out


async def test_a_holder_whose_lease_expired_cannot_move_current(redis: Redis) -> None:
    stalled = Lease(redis, "t", "host-a pid 1: numlookup data import", ttl=0.2)
    assert await stalled.try_acquire()
    assert not await Lease(redis, "t", "host-b").try_acquire()  # held
    await asyncio.sleep(0.4)  # host-a stalls past its time to live, without renewing
    later = Lease(redis, "t", "host-b pid 2: numlookup data import-mnp")
    assert await later.try_acquire()
    assert later.fence > stalled.fence
    await later.set_current("{t:dataset}:current", "B")
    with pytest.raises(LeaseLost, match="passed to host-b pid 2: numlookup data import-mnp"):
        await stalled.set_current("{t:dataset}:current", "A")
    assert await redis.get("{t:dataset}:current") == b"B"
    await later.release()
    assert await redis.get("t:lease") is None
