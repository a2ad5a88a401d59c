"""One request budget per upstream source, shared by every replica: a token bucket in Redis.

The bucket refills at ``rate`` tokens a second up to ``burst``; a request takes one. The whole check is one
Lua script, so replicas never race and the clock is Redis's own (``TIME``), not each host's. A source that
answered 429 (or 5xx) puts the bucket on hold (a cool-down key) for as long as it asked, for every replica.
Without Redis, or while it fails, each process keeps the same bucket to itself (logged once).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: bucket, cool-down. ARGV: rate, burst. Returns {allowed, tokens left (text), ms until the next token}.
TAKE: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local hold = redis.call('PTTL', KEYS[2])
if hold > 0 then return {0, '0', hold} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / rate * 1000) end
return {allowed, tostring(tokens), wait}
"""


@dataclass(frozen=True, slots=True)
class Grant:
    allowed: bool
    left: float  # tokens left in the bucket after this take
    wait: float  # seconds until the next token (or the end of a cool-down)


class LocalBucket:
    """The same bucket in this process only."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.hold_until = 0.0

    def take(self) -> Grant:
        now = time.monotonic()
        if now < self.hold_until:
            return Grant(False, 0.0, self.hold_until - now)
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        return Grant(allowed, self.tokens, wait)

    def hold(self, seconds: float) -> None:
        self.hold_until = max(self.hold_until, time.monotonic() + seconds)


class Budget:
    """The shared bucket of one source (``redis`` None: this process's own)."""

    def __init__(
        self, name: str, rate: float, burst: int, redis: Redis | None, *, prefix: str = "numlookup"
    ) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self.redis = redis
        # One hash tag: the script reads and writes both keys, which a Redis Cluster allows in one slot only.
        tag = f"{{{prefix}:upstream:{name}}}"
        self.keys = [f"{tag}:budget", f"{tag}:hold"]
        self.script = redis.register_script(TAKE) if redis is not None else None  # EVALSHA, EVAL once
        self.local = LocalBucket(rate, burst)
        self.left = float(burst)  # as of the last take, for /metrics and /health
        self.spent = 0  # takes refused
        self._failing = False

    async def take(self) -> Grant:
        grant = await self._shared() if self.script is not None else None
        if grant is None:
            grant = self.local.take()
        self.left = grant.left
        if not grant.allowed:
            self.spent += 1
        return grant

    async def hold(self, seconds: float) -> None:
        """No request to this source for ``seconds`` (it said 429 or failed), on every replica."""
        self.local.hold(seconds)
        if self.redis is not None:
            try:
                await self.redis.set(self.keys[1], "1", px=max(1, int(seconds * 1000)))
            except (RedisError, OSError) as error:
                self._failed(error)

    async def _shared(self) -> Grant | None:
        assert self.script is not None
        try:
            allowed, left, wait = await self.script(keys=self.keys, args=[self.rate, self.burst])
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        if self._failing:
            log.info("upstream %s: shared budget reachable again", self.name)
            self._failing = False
        return Grant(bool(allowed), float(left), int(wait) / 1000)

    def _failed(self, error: Exception) -> None:
        if not self._failing:
            log.warning(
                "upstream %s: shared budget unavailable (%s); counting in this process", self.name, error
            )
            self._failing = True
