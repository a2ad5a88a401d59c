"""Rate limit per client address: a fixed window per second, counted in Redis when there is one.

Every replica shares the Redis counters (``INCR`` + ``EXPIRE`` in one ``MULTI``: one round trip), so the
limit holds for a client however the balancer spreads its requests. Without Redis, or while Redis is
failing, each process counts on its own; the switch back and forth is logged once per outage.

The client address is the TCP peer, or the ``X-Forwarded-For`` entry a trusted proxy added: entries are read
from the right, skipping trusted proxies, so a client cannot spoof its address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from worker.errors import ConfigError

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT: Final = "unknown"


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

    def check(self, client: str, now: float) -> Verdict:
        number, remaining = self.window.current(now)
        if number != self._number:  # a new window: every old count has expired at once
            self._number = number
            self._counts = {}
        count = self._counts.get(client, 0) + 1
        self._counts[client] = count
        return ALLOWED if count <= self.window.limit else Verdict(False, remaining)


class RateLimiter:
    """The limiter the API asks; ``rate`` 0 turns it off."""

    def __init__(
        self,
        rate: float,
        redis: Redis | None = None,
        *,
        prefix: str = "numlookup",
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = rate > 0
        self.clock = clock  # wall clock: every replica must agree on the window number
        self.local = LocalLimiter(rate)
        self._redis = redis
        self._prefix = f"{prefix}:rate:"
        self.retry_interval = retry_interval  # how long to count locally after a Redis failure
        self._redis_down_until = 0.0
        self.failing = False
        self.rejected = 0

    @property
    def shared(self) -> bool:
        """True while the counts are shared through Redis."""
        return self._redis is not None and not self.failing

    async def check(self, client: str) -> Verdict:
        now = self.clock()
        redis = self._redis
        if redis is not None and time.monotonic() >= self._redis_down_until:
            verdict = await self._check_redis(redis, client, now)
        else:
            verdict = self.local.check(client, now)
        if not verdict.allowed:
            self.rejected += 1
        return verdict

    async def _check_redis(self, redis: Redis, client: str, now: float) -> Verdict:
        window = self.local.window
        number, remaining = window.current(now)
        key = f"{self._prefix}{client}:{number}"
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window.seconds + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            if not self.failing:
                log.warning("rate limit: Redis unavailable (%s); counting per process", error)
                self.failing = True
            self._redis_down_until = time.monotonic() + self.retry_interval
            return self.local.check(client, now)
        if self.failing:
            log.info("rate limit: Redis reachable again; counting across replicas")
            self.failing = False
        return ALLOWED if int(count) <= window.limit else Verdict(False, remaining)


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``trusted_proxies`` as networks (a bare address is a /32 or /128)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ConfigError(f"http.trusted_proxies: {entry!r} is not an IP address or network") from error
    return tuple(networks)


class ClientAddress:
    """Resolves the address a request is counted under."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self._trusted = trusted

    def is_trusted(self, address: str) -> bool:
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str:
        if peer is None:
            return UNKNOWN_CLIENT
        if forwarded_for is None or not self.is_trusted(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            candidate = entry.strip()
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                return client  # a malformed entry: count the last address a trusted hop vouched for
            client = candidate
            if not self.is_trusted(candidate):
                break
        return client
