"""Rate limit per client address (:mod:`worker.api.addresses`): a fixed window, counted in Redis if any.

Every replica shares the Redis counters (``{numlookup:rate:<window>}:<address>``, at most one round trip a
request: :mod:`worker.api.counter`; the window is the hash tag, so a Redis Cluster keeps the counters that
one round trip carries on one node), so the limit holds for a client however the balancer spreads its
requests. Without Redis, or while Redis is failing, each process counts on its own; the switch back and
forth is logged once per outage, and Redis is tried again ``retry_interval`` seconds after a failure.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.api.counter import RedisCounter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until the client's next window opens


ALLOWED: Final = Verdict(True)


class Window:
    """``limit`` requests per ``seconds`` (one second unless the rate is below 1/s)."""

    def __init__(self, rate: float) -> None:
        self.seconds = max(1, math.ceil(1 / rate)) if rate > 0 else 1
        self.limit = max(1, math.floor(rate * self.seconds))

    def verdict(self, count: int, weight: int, remaining: int) -> Verdict:
        """Within the limit, or the first of its window (a batch larger than the limit is not impossible)."""
        return ALLOWED if count <= self.limit or count == weight else Verdict(False, remaining)

    def current(self, now: float) -> tuple[int, int]:
        """The current window's number and the whole seconds until it ends (at least 1)."""
        number = int(now // self.seconds)
        return number, max(1, math.ceil((number + 1) * self.seconds - now))


class LocalLimiter:
    """Counts per address in this process; memory is bounded by the addresses seen in one window."""

    def __init__(self, rate: float) -> None:
        self.window = Window(rate)
        self._number = -1
        self._counts: dict[str, int] = {}

    def check(self, client: str, now: float, weight: int = 1) -> Verdict:
        number, remaining = self.window.current(now)
        if number != self._number:  # a new window: every old count has expired at once
            self._number = number
            self._counts = {}
        count = self._counts.get(client, 0) + weight
        self._counts[client] = count
        return self.window.verdict(count, weight, remaining)


class RateLimiter:
    """The limiter the API asks; ``rate`` 0 turns it off."""

    def __init__(
        self,
        rate: float,
        redis: Redis | None = None,
        *,
        prefix: str = "numlookup",
        kind: str = "rate",
        retry_interval: float = 1.0,
        timeout: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = rate > 0
        self.clock = clock  # wall clock: every replica must agree on the window number
        self.local = LocalLimiter(rate)
        self._counter = (
            None if redis is None else RedisCounter(redis, ttl=self.local.window.seconds + 1, timeout=timeout)
        )
        self._prefix = f"{prefix}:{kind}"
        self.retry_interval = retry_interval  # how long to count locally after a Redis failure
        self._redis_down_until = 0.0
        self.failing = False
        self.rejected = 0

    async def check(self, client: str, weight: int = 1) -> Verdict:
        """Count ``weight`` (a request: 1; a batch against the item budget: its numbers) for ``client``."""
        now = self.clock()
        counter = self._counter
        if counter is not None and time.monotonic() >= self._redis_down_until:
            verdict = await self._check_redis(counter, client, now, weight)
        else:
            verdict = self.local.check(client, now, weight)
        if not verdict.allowed:
            self.rejected += 1
        return verdict

    async def _check_redis(self, counter: RedisCounter, client: str, now: float, weight: int) -> Verdict:
        window = self.local.window
        number, remaining = window.current(now)
        try:
            count = await counter.increment(f"{{{self._prefix}:{number}}}:{client}", weight)
        except (RedisError, OSError) as error:
            if not self.failing:
                log.warning("rate limit: Redis unavailable (%s); counting per process", error)
                self.failing = True
            self._redis_down_until = time.monotonic() + self.retry_interval
            return self.local.check(client, now, weight)
        if self.failing:
            log.info("rate limit: Redis reachable again; counting across replicas")
            self.failing = False
        return window.verdict(count, weight, remaining)

    async def close(self) -> None:
        if self._counter is not None:
            await self._counter.close()
