"""Counters in Redis shared by every replica, many requests to one round trip.

A request adds 1 (a batch against the item budget: its numbers) to its key and learns the new total. Requests
that arrive while a round trip is in flight wait for the next one, which carries one ``INCRBY key n`` (and
``EXPIRE``) per distinct key in a single pipeline, ``n`` the sum of their amounts; each request then gets its
own running total back, exactly as if it had sent its own ``INCRBY``. Idle, a request costs one round trip;
under load, a fraction of one. A redis-py call costs ~40 µs of CPU, more than a whole lookup request, so this
is what keeps a shared limit affordable (bench/api.py ``--rate-limit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class RedisCounter:
    def __init__(self, redis: Redis, *, ttl: int, timeout: float = 0.5) -> None:
        self._redis = redis
        self._ttl = ttl  # keys carry their window's number; this only makes Redis forget them
        # redis-py retries a refused connection with backoff for seconds; a limiter must fail fast instead.
        self._timeout = timeout
        self._pending: dict[str, list[tuple[asyncio.Future[int], int]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def increment(self, key: str, amount: int = 1) -> int:
        """Add ``amount`` to ``key`` and return its new total; raises RedisError or OSError (TimeoutError
        too)."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((future, amount))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="rate-limit-counter")
        return await future

    async def _flush(self) -> None:
        batch: dict[str, list[tuple[asyncio.Future[int], int]]] = {}
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    totals = await self._send(batch)
                except Exception as error:  # task boundary: every waiting request gets the error
                    for futures in batch.values():
                        _settle(futures, error)
                    continue
                for (_, futures), total in zip(batch.items(), totals, strict=True):
                    running = total - sum(amount for _, amount in futures)
                    for future, amount in futures:
                        running += amount
                        if not future.done():
                            future.set_result(running)
        finally:
            self._flusher = None
            for futures in (*batch.values(), *self._pending.values()):  # only when cancelled
                for future, _ in futures:
                    future.cancel()

    async def _send(self, batch: dict[str, list[tuple[asyncio.Future[int], int]]]) -> list[int]:
        """One round trip; TimeoutError (an OSError) past the timeout."""
        async with asyncio.timeout(self._timeout), self._redis.pipeline(transaction=False) as pipe:
            for key, futures in batch.items():
                pipe.incrby(key, sum(amount for _, amount in futures))
                pipe.expire(key, self._ttl)
            replies = await pipe.execute()
        return [int(total) for total in replies[0::2]]

    async def close(self) -> None:
        """Stop the round trip in flight (at app shutdown); its requests are cancelled."""
        flusher = self._flusher
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher


def _settle(futures: list[tuple[asyncio.Future[int], int]], error: Exception) -> None:
    for future, _ in futures:
        if not future.done():
            future.set_exception(error)
