"""One answer per event when several workers share an Asterisk: a short Redis claim on the Uniqueid.

The first worker whose ``SET key NX PX`` succeeds answers; the others skip the event. A dead worker claims
nothing, so the survivors answer everything. Without Redis (or while it is down) every worker answers:
better twice (the same values, harmless) than never.
"""

from __future__ import annotations

import logging
import os
import socket

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Claims:
    def __init__(self, redis: Redis | None, *, prefix: str, ttl: float) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:ami:claim:"
        self._ttl_ms = max(1, int(ttl * 1000))
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._failing = False
        self.errors = 0

    async def claim(self, server: str, uniqueid: str) -> bool:
        """True when this worker should answer the event."""
        if self._redis is None:
            return True
        try:
            won = await self._redis.set(
                f"{self._prefix}{server}:{uniqueid}", self._owner, nx=True, px=self._ttl_ms
            )
        except (RedisError, OSError) as error:
            self.errors += 1
            if not self._failing:
                self._failing = True
                log.error("Redis claim failed (%s): answering every event until Redis is back", error)
            return True
        if self._failing:
            self._failing = False
            log.info("Redis claims work again")
        return bool(won)
