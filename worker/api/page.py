"""The lookup page at ``/``: plain HTML, CSS and JavaScript from ``worker/static/``, served by the API itself.

No build step and no CDN (PBX networks are often closed): the files are read once when the app starts and
served as they are, except that the HTML is told the batch limit, so the page can say it before anyone pastes
a list too long. A Content-Security-Policy keeps the page to its own host: it may fetch only the API it came
from, and load no script, style, font or image from anywhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy

from worker.api.replies import headers_for

# What the page may load: its own files, its own API, inline SVG/data images (the icon); nothing else.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
JS: Final = "text/javascript; charset=utf-8"
# (path served, file in worker/static, content type); the scripts are ES modules importing one another.
FILES: Final = (
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/static/page.css", "page.css", "text/css; charset=utf-8"),
    *(
        (f"/static/{name}", name, JS)
        for name in ("page.js", "answers.js", "card.js", "dom.js", "footer.js", "table.js")
    ),
)
BATCH_LIMIT_MARK: Final = b"{{batch_limit}}"


def page_headers(content_type: str) -> CIMultiDictProxy[str]:
    headers = CIMultiDict(headers_for(content_type))  # its type, the Server name, CORS: as every answer
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    # Small files: always revalidate, so an upgraded service never runs yesterday's script.
    headers[hdrs.CACHE_CONTROL] = "no-cache"
    return CIMultiDictProxy(headers)


@dataclass(frozen=True, slots=True)
class PageFile:
    body: bytes
    headers: CIMultiDictProxy[str]


PAGE: Final = web.AppKey[dict[str, PageFile]]("page")


def load(batch_limit: int) -> dict[str, PageFile]:
    """The page's files by the path they are served at, read from the package once."""
    static = resources.files("worker").joinpath("static")
    files: dict[str, PageFile] = {}
    for path, name, content_type in FILES:
        body = static.joinpath(name).read_bytes()
        if name == "index.html":
            body = body.replace(BATCH_LIMIT_MARK, str(batch_limit).encode())
        files[path] = PageFile(body, page_headers(content_type))
    return files


def loader(batch_limit: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that reads the page into ``app[PAGE]`` when the app starts."""

    async def load_page(app: web.Application) -> AsyncIterator[None]:
        app[PAGE] = load(batch_limit)
        yield

    return load_page


def view(path: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler serving the page file at ``path`` (one of :data:`FILES`)."""

    async def serve(request: web.Request) -> web.Response:
        page_file = request.app[PAGE][path]
        return web.Response(body=page_file.body, headers=page_file.headers)

    return serve
