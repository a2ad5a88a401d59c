"""``UserEvent(Num)`` → lookup → ``Setvar`` on the event's channel, addressed by its Uniqueid.

Event headers (names case-insensitive; values from the dialplan, so untrusted):

- ``number`` — what to look up (``${CALLERID(num)}``);
- ``variable`` — optional: the name of the variable that gets the whole answer as JSON (default ``var``);
- ``version`` — optional: ``2`` for v2 JSON and Latin names for Russian numbers (default ``1``).

The data variables go out in one write; when an upstream MNP source may still change the answer (a mobile
number, docs/upstreams.md), what it changed follows once it answers or ``upstream.ami_deadline`` passes.
``NUM_STATUS`` goes only after Asterisk acknowledged all of them,
so a dialplan that sees the status sees every other variable, and a channel that hung up meanwhile
(``No such channel``) gets nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Final

from worker.answer.dialplan import one_line
from worker.asterisk.ami import AmiEvent
from worker.asterisk.request import Request, staged_variables
from worker.asterisk.stats import HandlerStats
from worker.errors import AmiError, AmiUnavailable
from worker.handlers.claims import Claims
from worker.lookup.engine import LookupEngine

log = logging.getLogger(__name__)

# Asterisk Uniqueid: "<epoch>.<sequence>", prefixed with "<systemname>-" when asterisk.conf sets one.
UNIQUEID: Final = re.compile(r"(?:[A-Za-z0-9_.]{1,64}-)?[0-9]{1,20}\.[0-9]{1,10}")
NO_SUCH_CHANNEL: Final = "no such channel"


class NumHandler:
    def __init__(
        self,
        engine: LookupEngine,
        claims: Claims,
        stats: HandlerStats,
        *,
        timeout: float,
        concurrency: int,
        deadline: float | None = None,
    ) -> None:
        self.engine = engine
        self.claims = claims
        self.stats = stats
        self.timeout = timeout
        self.deadline = deadline  # seconds NUM_STATUS waits for an upstream MNP source (None: its default)
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, event: AmiEvent) -> None:
        self.stats.events += 1
        uniqueid = event.get("Uniqueid")
        if UNIQUEID.fullmatch(uniqueid) is None:
            self.stats.rejected += 1
            log.warning(
                "AMI %s: UserEvent with an unusable Uniqueid %r ignored",
                event.client.name,
                one_line(uniqueid)[:80],
            )
            return
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                await self._answer(event, uniqueid)
        except TimeoutError:
            self.stats.timeouts += 1
            log.warning("AMI %s: no answer for %s within %gs", event.client.name, uniqueid, self.timeout)

    async def _answer(self, event: AmiEvent, uniqueid: str) -> None:
        client = event.client
        if not await self.claims.claim(client.name, uniqueid):
            self.stats.duplicates += 1
            return
        request = Request.from_options(event.get("number"), event.get("version"), event.get("variable"))
        staged = await staged_variables(self.engine, request, deadline=self.deadline)
        *data, status = staged.now
        try:
            await client.setvars(uniqueid, data, generation=event.generation)
            if staged.later is not None:  # the local answer is set; the status waits for the upstream
                *final, status = await staged.later()
                changed = [pair for pair in final if pair not in data]
                if changed:
                    await client.setvars(uniqueid, changed, generation=event.generation)
            await client.setvars(uniqueid, [status], generation=event.generation)
        except AmiError as error:
            if error.message.lower() == NO_SUCH_CHANNEL:
                self.stats.hangups += 1
                log.debug("AMI %s: %s hung up before the answer", client.name, uniqueid)
            else:
                self.stats.failures += 1
                log.warning("AMI %s: Setvar on %s refused: %s", client.name, uniqueid, error.message)
            return
        except AmiUnavailable as error:
            self.stats.stale += 1
            log.info("AMI %s: answer for %s not sent: %s", client.name, uniqueid, error.reason)
            return
        self.stats.answers[status[1]] += 1
        self.stats.latency.observe(asyncio.get_running_loop().time() - event.received)
