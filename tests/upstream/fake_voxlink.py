"""A fake num.voxlink.ru on a real socket: its v1 ``/get/`` shapes (the talk's), its 10 requests/s limit
answering 429, and on demand slow answers, hangs, malformed JSON and 5xx. It counts what reaches it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

LIMIT = 10  # requests per second per address: num.voxlink.ru's documented limit


@dataclass
class FakeVoxlink:
    # full number → (operator, old operator or None); other 79xx numbers answer `holder`, not ported
    ported: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    holder: str = "Т2"
    limit: int = LIMIT
    retry_after: str = "1"  # seconds, in a 429's Retry-After
    mode: str = "ok"  # ok | slow | hang | malformed | error
    delay: float = 0.0  # seconds before answering in "slow" mode
    requests: Counter[str] = field(default_factory=Counter)  # number → requests that reached us
    answered: Counter[int] = field(default_factory=Counter)  # status → count
    window: deque[float] = field(default_factory=deque)  # monotonic times of the last second's requests
    times: list[float] = field(default_factory=list)  # monotonic time of every request
    url: str = ""
    _runner: web.AppRunner | None = None

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def max_in_any_second(self) -> int:
        """The most requests that arrived within any one second (sliding)."""
        best, start = 0, 0
        for end, moment in enumerate(self.times):
            while moment - self.times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    async def get(self, request: web.Request) -> web.StreamResponse:
        number = request.query.get("num", "")
        now = time.monotonic()
        self.requests[number] += 1
        self.times.append(now)
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            return self._reply(429, {"info": "Too many requests"}, {"Retry-After": self.retry_after})
        self.window.append(now)
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "error":
            return self._reply(502, {"info": "Bad gateway"})
        if self.mode == "malformed":
            self.answered[200] += 1
            return web.Response(
                status=200, text='{"code": "900", "operator": ', content_type="application/json"
            )
        if not (number.isdigit() and len(number) == 11 and number.startswith("79")):
            return self._reply(404, {"info": f"Неверный формат номера: num={number}"})
        operator, old = self.ported.get(number, (self.holder, None))
        body = {"code": number[1:4], "num": number[4:], "full_num": number[1:], "operator": operator}
        if old is not None:
            body["old_operator"] = old
        body["region"] = "Краснодарский край"
        return self._reply(200, body)

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
        self.answered[status] += 1
        text = json.dumps(body, ensure_ascii=False)
        return web.Response(status=status, text=text, content_type="application/json", headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/get/", self.get)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def running(fake: FakeVoxlink) -> AsyncIterator[FakeVoxlink]:
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
