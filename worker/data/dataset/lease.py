"""The data lease in Redis: one import, update, mnp-sync or rollback at a time across every host.

The data dir's lock (:mod:`worker.data.dataset.lock`) serialises the commands of one host; two hosts with
their own data dirs that publish to one Redis take this lease as well. Keys (``P`` is the Redis prefix)::

    {P:dataset}:lease      "<fence> <holder>", set NX with a time to live, renewed while the command runs
    {P:dataset}:fence      a counter: every lease gets a larger fencing token than any before it
    {P:dataset}:fenced     the token of the last holder that moved {P:dataset}:current

(the hash tag keeps them in the slot of ``{P:dataset}:current``, which the fenced move changes with them).

A holder that stalled past its time to live (a paused VM, a long GC) may still believe it holds the lease:
moving ``P:dataset:current`` is therefore checked in one transaction (WATCH/MULTI) against the lease still
being its own and no larger token having moved it since, and refused otherwise (:class:`LeaseLost`).
A crashed holder's lease expires after ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from worker.errors import DataError

log = logging.getLogger(__name__)

TTL: Final = 30.0  # seconds a lease outlives a holder that stopped renewing it
POLL: Final = 0.2  # seconds between tries while another host holds the lease


class LeaseLost(DataError):
    """The lease expired or passed to another holder before this one moved the current version."""


class Lease:
    def __init__(self, redis: Redis, prefix: str, holder: str, *, ttl: float = TTL) -> None:
        self.redis, self.holder, self.ttl = redis, holder, ttl
        # One hash tag with P:dataset:current, so the fenced move is one transaction in a Redis Cluster too.
        tag = f"{{{prefix}:dataset}}"
        self.key, self.fence_key, self.fenced_key = f"{tag}:lease", f"{tag}:fence", f"{tag}:fenced"
        self.fence = 0
        self.value = ""

    async def try_acquire(self) -> bool:
        fence = int(await self.redis.incr(self.fence_key))
        value = f"{fence} {self.holder}"
        if not await self.redis.set(self.key, value, nx=True, px=int(self.ttl * 1000)):
            return False
        self.fence, self.value = fence, value
        return True

    async def current_holder(self) -> str:
        raw = await self.redis.get(self.key)
        text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        return text.partition(" ")[2] or "another host"

    async def _if_mine(
        self, *, pexpire: bool = False, delete: bool = False, current: tuple[str, str] | None = None
    ) -> bool:
        """One WATCH/MULTI transaction, applied only while the lease is still this holder's."""
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.key, self.fenced_key)
                raw = await pipe.get(self.key)
                fenced = await pipe.get(self.fenced_key)
                if raw is None or (raw.decode() if isinstance(raw, bytes) else raw) != self.value:
                    return False
                if current is not None and fenced is not None and int(fenced) > self.fence:
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                if pexpire:
                    pipe.pexpire(self.key, int(self.ttl * 1000))
                if delete:
                    pipe.delete(self.key)
                if current is not None:
                    pipe.set(current[0], current[1])
                    pipe.set(self.fenced_key, self.fence)
                await pipe.execute()
                return True
            except WatchError:  # the lease changed under the check: it is no longer ours
                return False

    async def renew(self) -> bool:
        return await self._if_mine(pexpire=True)

    async def release(self) -> None:
        await self._if_mine(delete=True)

    async def set_current(self, key: str, version: str) -> None:
        """``SET key version``, fenced: only while this lease holds and no later holder moved it."""
        if not await self._if_mine(current=(key, version)):
            raise LeaseLost(
                f"the data lease expired or passed to {await self.current_holder()} before {version} "
                "could be made current in Redis"
            )


@contextlib.asynccontextmanager
async def hold(
    redis: Redis, prefix: str, holder: str, on_wait: Callable[[str], None], *, ttl: float = TTL
) -> AsyncIterator[Lease]:
    """Hold the lease for the block (waiting while another holder has it), renewed every third of ``ttl``."""
    lease = Lease(redis, prefix, holder, ttl=ttl)
    told = False
    while not await lease.try_acquire():
        if not told:
            on_wait(await lease.current_holder())
            told = True
        await asyncio.sleep(POLL)
    renewer = asyncio.create_task(_renew(lease), name="data-lease")
    try:
        yield lease
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        try:
            await lease.release()
        except (RedisError, OSError) as error:  # it expires by itself; the command's outcome stands
            log.warning("could not release the data lease (it expires in %.0f s): %s", ttl, error)


async def _renew(lease: Lease) -> None:
    while True:
        await asyncio.sleep(lease.ttl / 3)
        try:
            if not await lease.renew():
                log.warning("the data lease was lost: this command's version will not be made current")
                return
        except Exception as error:  # task boundary: the fenced move refuses if the lease is lost
            log.warning("could not renew the data lease: %s", error)
