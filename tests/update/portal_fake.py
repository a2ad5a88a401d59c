"""A local stand-in for the official portal: nginx autoindex, 403 without a browser UA, and bad transfers."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"
FILES = ("ABC-3xx.csv", "ABC-4xx.csv", "ABC-8xx.csv", "DEF-9xx.csv")

# (code, from, to, operator, region, inn): a few ranges per file, current 8-column format
ROWS: dict[str, list[tuple[int, int, int, str, str, str]]] = {
    "ABC-3xx.csv": [
        (301, 2000000, 2099999, 'ПАО "РОСТЕЛЕКОМ"', "Республика Бурятия", "7707049388"),
        (343, 3000000, 3099999, 'ПАО "РОСТЕЛЕКОМ"', "Свердловская обл.", "7707049388"),
    ],
    "ABC-4xx.csv": [
        (495, 9890000, 9899999, 'ПАО "РОСТЕЛЕКОМ"', "г. Москва", "7707049388"),
        (495, 9900000, 9909999, 'ПАО "МТС"', "г. Москва", "7740000076"),
    ],
    "ABC-8xx.csv": [
        (800, 1000000, 1009999, 'ПАО "РОСТЕЛЕКОМ"', "Российская Федерация", "7707049388"),
        (861, 2000000, 2099999, 'ПАО "РОСТЕЛЕКОМ"', "Краснодарский край", "7707049388"),
    ],
    "DEF-9xx.csv": [
        (900, 0, 61999, 'ООО "Т2 МОБАЙЛ"', "Краснодарский край", "7743895280"),
        (900, 62000, 62999, 'ООО "Т2 МОБАЙЛ"', "Ростовская обл.", "7743895280"),
        (917, 0, 999999, 'ПАО "МТС"', "Республика Башкортостан", "7740000076"),
        (926, 1000000, 1999999, 'ПАО "МЕГАФОН"', "г. Москва", "7812014560"),
    ],
}


def registry_csv(rows: list[tuple[int, int, int, str, str, str]]) -> bytes:
    lines = [HEADER] + [
        f"{code};{low:07d};{high:07d};{high - low + 1};{name};{region};{region};{inn}"
        for code, low, high, name, region, inn in rows
    ]
    return ("\ufeff" + "\n".join(lines)).encode("utf-8")


@dataclass
class FakePortal:
    """The portal's behaviour, switchable per test."""

    files: dict[str, bytes] = field(default_factory=lambda: {n: registry_csv(r) for n, r in ROWS.items()})
    modified: dict[str, datetime] = field(
        default_factory=lambda: dict.fromkeys(FILES, datetime(2026, 7, 18, 3, 12))
    )
    hits: Counter[str] = field(default_factory=Counter)
    truncate: Counter[str] = field(default_factory=Counter)  # name → transfers still to cut half-way
    fail: Counter[str] = field(default_factory=Counter)  # name → requests still to answer 503
    slow: bool = False  # send in small chunks, yielding between them
    stall: Counter[str] = field(default_factory=Counter)  # name → transfers to stop half-way and hang
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends every hang (set at teardown)
    forbid_all: bool = False  # 403 even with a browser UA (a non-Russian address)

    def publish(self, name: str, content: bytes, modified: datetime) -> None:
        self.files[name], self.modified[name] = content, modified

    def listing(self) -> str:
        rows = [
            f'<a href="{name}">{name}</a>{" " * (51 - len(name))}'
            f"{self.modified[name]:%d-%b-%Y %H:%M}{len(self.files[name]):>20}"
            for name in sorted(self.files)
        ]
        return (
            "<html>\r\n<head><title>Index of /downloads/</title></head>\r\n<body>\r\n"
            '<h1>Index of /downloads/</h1><hr><pre><a href="../">../</a>\r\n'
            + "\r\n".join(rows)
            + "\r\n</pre><hr></body>\r\n</html>\r\n"
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/downloads/", self.index)
        app.router.add_get("/downloads/{name}", self.file)
        return app

    def _refused(self, request: web.Request) -> bool:
        return self.forbid_all or "Mozilla/" not in request.headers.get("User-Agent", "")

    async def index(self, request: web.Request) -> web.Response:
        self.hits["/"] += 1
        if self._refused(request):
            return web.Response(status=403, text="<html><body>403 Forbidden</body></html>")
        return web.Response(text=self.listing(), content_type="text/html")

    async def file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        if self._refused(request):
            return web.Response(status=403, text="<html><body>403 Forbidden</body></html>")
        if name not in self.files:
            return web.Response(status=404)
        if self.fail[name] > 0:
            self.fail[name] -= 1
            return web.Response(status=503, text="busy")
        body = self.files[name]
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        response.content_length = len(body)
        await response.prepare(request)
        if self.truncate[name] > 0:
            self.truncate[name] -= 1
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-transfer
            return response
        if self.stall[name] > 0:
            self.stall[name] -= 1
            await response.write(body[: len(body) // 2])
            await self.release.wait()
            return response
        step = 64 if self.slow else len(body)
        for offset in range(0, len(body), step):
            await response.write(body[offset : offset + step])
            if self.slow:
                await asyncio.sleep(0)
        await response.write_eof()
        return response
