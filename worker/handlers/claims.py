"""One answer per event when several workers share an Asterisk: a short Redis claim on the Uniqueid.

The first worker whose ``SET key NX PX`` succeeds answers; the others skip the event. A dead worker claims
nothing, so the survivors answer everything. Without Redis (or while it is down) every worker answers:
better twice (the same values, harmless) than never.

Claims asked for in the same event-loop turn go to Redis in one pipeline: under load that is one round
trip for a burst of events instead of one each (and never more connections than redis-py's pool allows).

A claim is won when the key holds this claim's own value after the ``SET NX``, not when the ``SET`` says
it set it: a ``SET`` that reached the master but whose reply was lost (a Sentinel failover closes the
connections) is sent again by redis-py's retry, now finds the key (its own, replicated to the new master)
and says no. Trusting that "no" left such an event answered by nobody.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Claims:
    def __init__(self, redis: Redis | None, *, prefix: str, ttl: float) -> None:
        self._redis = redis
        self._prefix = (
            f"{{{prefix}:ami:claim}}:"  # one hash tag: a batch is one node's round trip in a cluster
        )
        self._ttl_ms = max(1, int(ttl * 1000))
        # A claim's value: this worker (unique even beside another in the same process) and a number of the
        # claim's own, so that only the retry of the very same claim finds itself the winner.
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._claims = itertools.count()
        self._failing = False
        self._batch: list[tuple[str, asyncio.Future[bool]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        self.errors = 0

    async def claim(self, server: str, uniqueid: str) -> bool:
        """True when this worker should answer the event."""
        if self._redis is None:
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not self._batch:
            task = asyncio.create_task(self._flush())  # runs after every claim of this loop turn
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        self._batch.append((f"{self._prefix}{server}:{uniqueid}", future))
        return await future

    async def _flush(self) -> None:
        batch, self._batch = self._batch, []
        assert self._redis is not None
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                values = [f"{self._owner}:{next(self._claims)}".encode() for _ in batch]
                for (key, _), value in zip(batch, values, strict=True):
                    pipe.set(key, value, nx=True, px=self._ttl_ms)
                    pipe.get(key)
                replies = await pipe.execute()
            won = [_bytes(holder) == value for holder, value in zip(replies[1::2], values, strict=True)]
        except (RedisError, OSError) as error:
            self.errors += len(batch)
            if not self._failing:
                self._failing = True
                log.error("Redis claim failed (%s): answering every event until Redis is back", error)
            won = [True] * len(batch)
        except BaseException:  # cancelled (shutdown): nobody must wait for ever
            for _, future in batch:
                future.cancel()
            raise
        else:
            if self._failing:
                self._failing = False
                log.info("Redis claims work again")
        for (_, future), result in zip(batch, won, strict=True):
            if not future.done():
                future.set_result(bool(result))


def _bytes(value: bytes | str | None) -> bytes | None:
    """A reply as bytes, whether or not the client was made with ``decode_responses``."""
    return value.encode() if isinstance(value, str) else value
