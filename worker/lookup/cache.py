"""One cache protocol for computed answers, with an in-process and a Redis implementation.

Only answers that cost real work are cached: libphonenumber's (~60 µs each). A Russian answer comes from
in-process arrays in about a microsecond, faster than any cache could return it (docs/performance.md).
Keys carry the dataset version, so a new dataset never serves an old answer. Any Redis failure is a miss
and one log line, never a failed lookup.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.answer.model import ForeignAnswer, LineType, NotFound

log = logging.getLogger(__name__)

Cached = ForeignAnswer | NotFound


class AnswerCache(Protocol):
    async def get(self, key: str) -> Cached | None: ...

    async def set(self, key: str, answer: Cached) -> None: ...


class MemoryCache:
    """A bounded LRU with a TTL, per process."""

    def __init__(self, max_items: int = 100_000, ttl: float = 86_400.0) -> None:
        self._items: OrderedDict[str, tuple[float, Cached]] = OrderedDict()
        self._max_items = max_items
        self._ttl = ttl
        self.hits = 0
        self.misses = 0

    def get_now(self, key: str) -> Cached | None:
        entry = self._items.get(key)
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry[1]

    def set_now(self, key: str, answer: Cached) -> None:
        self._items[key] = (time.monotonic() + self._ttl, answer)
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)

    async def get(self, key: str) -> Cached | None:
        return self.get_now(key)

    async def set(self, key: str, answer: Cached) -> None:
        self.set_now(key, answer)


class RedisCache:
    """Answers shared by every replica, ``SET key value EX ttl``; errors degrade to a miss."""

    def __init__(self, redis: Redis, *, prefix: str = "numlookup", ttl: int = 86_400) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:answer:"
        self._ttl = ttl
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self._failing = False

    async def get(self, key: str) -> Cached | None:
        try:
            raw = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as error:
            self._failed("get", error)
            return None
        self._recovered()
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        return decode(raw)

    async def set(self, key: str, answer: Cached) -> None:
        try:
            await self._redis.set(self._prefix + key, encode(answer), ex=self._ttl)
        except (RedisError, OSError) as error:
            self._failed("set", error)
        else:
            self._recovered()

    def _failed(self, operation: str, error: Exception) -> None:
        self.errors += 1
        self.misses += 1
        if not self._failing:  # one line per outage, not one per lookup
            log.warning("answer cache unavailable (%s: %s); answering without it", operation, error)
            self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.info("answer cache reachable again")
            self._failing = False


def encode(answer: Cached) -> str:
    if isinstance(answer, NotFound):
        return json.dumps({"not_found": answer.digits})
    return json.dumps(asdict(answer), ensure_ascii=False)


def decode(raw: bytes | str) -> Cached | None:
    """The answer stored under a key; ``None`` for anything unreadable (treated as a miss)."""
    try:
        data = json.loads(raw)
        if "not_found" in data:
            return NotFound(str(data["not_found"]))
        data["line_type"] = LineType(**data["line_type"])
        data["timezones"] = tuple(data.get("timezones", ()))
        return ForeignAnswer(**data)
    except (ValueError, TypeError, KeyError):
        return None
