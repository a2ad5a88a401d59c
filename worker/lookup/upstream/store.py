"""What upstream sources answered, remembered: in Redis when configured, else in SQLite in the data dir.

Three things are kept per number (national 11 digits ``7…``):

- the answer (:class:`Entry`) for ``answer_ttl`` (7 days), or the failure for ``failure_ttl`` (a minute);
- a *learned port* when the answer said ported: kept for ``learned_ttl`` (half a year), so a restart or a
  new replica never asks again; ``numlookup data learned`` lists, exports and clears them;
- a short claim while one process asks, so replicas asking the same number at once send one request.

Every entry carries when it was learned (``at``, Unix seconds): an official MNP import newer than that
supersedes it (:mod:`worker.lookup.upstream.resolver`). Store errors are a miss and one log line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.lookup.upstream.sources import Verdict
from worker.settings import UpstreamSettings

log = logging.getLogger(__name__)

SQLITE_FILE: Final = "upstream-cache.sqlite3"


@dataclass(frozen=True, slots=True)
class Entry:
    """One remembered outcome: the source's verdict, or ``None`` (it failed, or does not know the number)."""

    verdict: Verdict | None
    source: str  # which upstream
    at: float  # Unix seconds
    failed: bool = False  # True: a failure (short TTL), False with no verdict: the source does not know it

    def encode(self) -> str:
        body: dict[str, object] = {"source": self.source, "at": self.at}
        if self.verdict is not None:
            body["verdict"] = asdict(self.verdict)
        if self.failed:
            body["failed"] = True
        return json.dumps(body, ensure_ascii=False)

    @classmethod
    def decode(cls, raw: bytes | str) -> Entry | None:
        """``None`` for anything unreadable (a miss)."""
        try:
            body = json.loads(raw)
            verdict = body.get("verdict")
            return cls(
                Verdict(**verdict) if verdict is not None else None,
                str(body["source"]),
                float(body["at"]),
                bool(body.get("failed", False)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


class EntryLRU:
    """The in-process LRU in front of a store: answers for ``answer_ttl``, failures for ``failure_ttl``."""

    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self.items: OrderedDict[str, tuple[float, Entry]] = OrderedDict()

    def get(self, digits: str) -> Entry | None:
        item = self.items.get(digits)
        if item is None:
            return None
        if item[0] < time.monotonic():
            del self.items[digits]
            return None
        self.items.move_to_end(digits)
        return item[1]

    def put(self, digits: str, entry: Entry) -> None:
        ttl = self.settings.failure_ttl if entry.failed else self.settings.answer_ttl
        self.items[digits] = (time.monotonic() + ttl, entry)
        self.items.move_to_end(digits)
        while len(self.items) > self.settings.memory_items:
            self.items.popitem(last=False)

    def clear(self) -> None:
        self.items.clear()


class UpstreamStore(Protocol):
    async def get(self, digits: str) -> Entry | None:
        """The answer or failure remembered for ``digits``, else its learned port, else ``None``."""
        ...

    async def put(self, digits: str, entry: Entry, ttl: int) -> None: ...

    async def learn(self, digits: str, entry: Entry) -> None:
        """Keep a ported number's answer for ``learned_ttl`` (beyond the answer's own TTL)."""
        ...

    async def unlearn(self, digits: str) -> None: ...

    async def claim(self, digits: str, seconds: float) -> bool:
        """True for the one caller that should ask the upstream now; others wait for its answer."""
        ...

    async def release(self, digits: str) -> None:
        """The claimant is done (its outcome is stored): the next lookup may ask again at once."""
        ...

    def learned(self) -> AsyncIterator[tuple[str, Entry]]: ...

    async def clear_learned(self) -> int: ...

    async def forget_learned_before(self, at: float) -> int:
        """Drop learned ports older than ``at`` (an official MNP import supersedes them); how many."""
        ...


class RedisStore:
    """``{prefix}:upstream:answer:<digits>`` strings with a TTL; learned ports in one hash."""

    def __init__(self, redis: Redis, *, prefix: str, learned_ttl: int) -> None:
        self.redis = redis
        self.answers = f"{prefix}:upstream:answer:"
        self.claims = f"{prefix}:upstream:claim:"
        self.learned_key = f"{prefix}:upstream:learned"
        self.learned_ttl = learned_ttl
        self.errors = 0
        self._failing = False

    async def get(self, digits: str) -> Entry | None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.answers + digits)
                pipe.hget(self.learned_key, digits)
                answer, learned = await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        self._recovered()
        if answer is not None:
            return Entry.decode(answer)
        if learned is not None:
            entry = Entry.decode(learned)
            if entry is not None and entry.at + self.learned_ttl > time.time():
                return entry
        return None

    async def put(self, digits: str, entry: Entry, ttl: int) -> None:
        await self._call(self.redis.set(self.answers + digits, entry.encode(), ex=ttl))

    async def learn(self, digits: str, entry: Entry) -> None:
        await self._call(self.redis.hset(self.learned_key, digits, entry.encode()))

    async def unlearn(self, digits: str) -> None:
        await self._call(self.redis.hdel(self.learned_key, digits))

    async def claim(self, digits: str, seconds: float) -> bool:
        try:
            claimed = await self.redis.set(self.claims + digits, "1", nx=True, px=max(1, int(seconds * 1000)))
        except (RedisError, OSError) as error:
            self._failed(error)
            return True  # without Redis each process asks for itself
        return bool(claimed)

    async def release(self, digits: str) -> None:
        await self._call(self.redis.delete(self.claims + digits))

    async def learned(self) -> AsyncIterator[tuple[str, Entry]]:
        expired: list[str] = []
        async for field, raw in self.redis.hscan_iter(self.learned_key, count=1000):
            entry = Entry.decode(raw)
            digits = field.decode() if isinstance(field, bytes) else str(field)
            if entry is None or entry.at + self.learned_ttl <= time.time():
                expired.append(digits)
            else:
                yield digits, entry
        if expired:  # a hash field has no TTL of its own: dropped when found past learned_ttl
            await self.redis.hdel(self.learned_key, *expired)

    async def clear_learned(self) -> int:
        count = int(await self.redis.hlen(self.learned_key))
        await self.redis.delete(self.learned_key)
        return count

    async def forget_learned_before(self, at: float) -> int:
        old = [digits async for digits, entry in self.learned() if entry.at < at]
        if old:
            await self.redis.hdel(self.learned_key, *old)
        return len(old)

    async def _call(self, pending: Awaitable[object]) -> None:
        try:
            await pending
        except (RedisError, OSError) as error:
            self._failed(error)
        else:
            self._recovered()

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        if not self._failing:
            log.warning("upstream cache unavailable (%s); asking without it", error)
            self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.info("upstream cache reachable again")
            self._failing = False


class SqliteStore:
    """The same in ``<data dir>/upstream-cache.sqlite3``, for installs without Redis (several processes of
    one host may share it: WAL mode, short busy timeout, and a locked database is a miss)."""

    def __init__(self, path: Path, *, learned_ttl: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.learned_ttl = learned_ttl
        self.errors = 0
        self.db = sqlite3.connect(path, timeout=0.05, isolation_level=None, check_same_thread=False)
        with contextlib.suppress(sqlite3.OperationalError):  # another process may be switching it right now
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for table in ("answers", "learned", "claims"):
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (number TEXT PRIMARY KEY, body TEXT, until REAL)"
            )

    def close(self) -> None:
        self.db.close()

    def _run(self, sql: str, *args: object) -> list[tuple[str, str]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            self.errors += 1
            log.warning("upstream cache %s: %s", self.path, error)
            return []

    async def get(self, digits: str) -> Entry | None:
        now = time.time()
        for table in ("answers", "learned"):
            rows = self._run(f"SELECT body, until FROM {table} WHERE number = ? AND until > ?", digits, now)
            if rows:
                return Entry.decode(rows[0][0])
        return None

    async def put(self, digits: str, entry: Entry, ttl: int) -> None:
        self._run(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", digits, entry.encode(), time.time() + ttl
        )
        if self.db.total_changes % 1000 == 0:  # now and then, not on every write
            self._run("DELETE FROM answers WHERE until < ?", time.time())

    async def learn(self, digits: str, entry: Entry) -> None:
        until = entry.at + self.learned_ttl
        self._run("INSERT OR REPLACE INTO learned VALUES (?, ?, ?)", digits, entry.encode(), until)

    async def unlearn(self, digits: str) -> None:
        self._run("DELETE FROM learned WHERE number = ?", digits)

    async def claim(self, digits: str, seconds: float) -> bool:
        now = time.time()
        self._run("DELETE FROM claims WHERE number = ? AND until < ?", digits, now)
        before = self.db.total_changes
        self._run("INSERT OR IGNORE INTO claims VALUES (?, '', ?)", digits, now + seconds)
        return self.db.total_changes > before

    async def release(self, digits: str) -> None:
        self._run("DELETE FROM claims WHERE number = ?", digits)

    async def learned(self) -> AsyncIterator[tuple[str, Entry]]:
        for number, body in self._rows("SELECT number, body FROM learned WHERE until > ? ORDER BY number"):
            entry = Entry.decode(body)
            if entry is not None:
                yield number, entry

    def _rows(self, sql: str) -> Iterator[tuple[str, str]]:
        yield from self._run(sql, time.time())

    async def clear_learned(self) -> int:
        count = len(self._run("SELECT number, body FROM learned"))
        self._run("DELETE FROM learned")
        return count

    async def forget_learned_before(self, at: float) -> int:
        before = self.db.total_changes
        self._run("DELETE FROM learned WHERE until < ?", at + self.learned_ttl)  # until = learned + TTL
        return self.db.total_changes - before
