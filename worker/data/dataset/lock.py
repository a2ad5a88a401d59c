"""The data dir's write lock: one import, update, mnp-sync or rollback at a time on one data dir.

``DATA_DIR/lock`` is locked with ``flock``: the kernel drops the lock when its holder exits, however it exits
(a crash or ``kill -9`` leaves no stale lock to clean up). The file's text names the holder (pid and command)
so a command that has to wait can say what it waits for. Serving processes never take it: only the commands
that change which version is current do, so each builds on the version the one before it published.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Final, TextIO

LOCK_FILE: Final = "lock"
POLL: Final = 0.1  # seconds between tries while another command holds the lock


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._file: TextIO | None = None

    def try_acquire(self, holder: str) -> bool:
        """Take the lock if it is free (and record ``holder`` in it); ``False`` if another process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {holder}\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (empty when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None


@contextlib.asynccontextmanager
async def hold(data_dir: Path, holder: str, on_wait: Callable[[str], None]) -> AsyncIterator[None]:
    """Hold the data dir's lock for the block, waiting (polling, so signals still stop it) while it is taken.

    ``on_wait`` is told once whom it waits for.
    """
    lock = DataDirLock(data_dir)
    told = False
    while not lock.try_acquire(holder):
        if not told:
            on_wait(lock.holder() or "another command")
            told = True
        await asyncio.sleep(POLL)
    try:
        yield
    finally:
        lock.release()
