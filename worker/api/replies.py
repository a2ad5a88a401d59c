"""Building aiohttp responses: every one carries its CORS header, every error the ``{"info": ...}`` shape.

Every response also names its server ``numlookup``, without versions; ``/metrics`` alone has no CORS header
(a browser page on another origin has no business reading the process's metrics).

Header sets are built once; a response copies one instead of parsing a content type per request. The lookups'
replies are :class:`worker.api.wire.WireResponse`: their heads are rendered once per status, content type and
source (:func:`reply_head`), and written with the body in one piece.
"""

from __future__ import annotations

import json
from typing import Final

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy

from worker.answer.model import CACHE, MNP, REGISTRY, UPSTREAM
from worker.answer.voxlink import JSON, TEXT, Reply
from worker.api.wire import Head, WireResponse

CORS: Final = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: "*"}
# Not aiohttp's "Python/3.11 aiohttp/3.x": exact versions only help someone matching known vulnerabilities.
SERVER: Final = {hdrs.SERVER: "numlookup"}
CORS_PREFLIGHT: Final = CIMultiDictProxy(
    CIMultiDict(
        {
            **SERVER,
            **CORS,
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: "GET, POST, OPTIONS",
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: "Content-Type",
            hdrs.ACCESS_CONTROL_MAX_AGE: "86400",
        }
    )
)


def headers_for(content_type: str, *, cors: bool = True) -> CIMultiDictProxy[str]:
    """Prebuilt headers: the content type, the Server name, and CORS unless ``cors`` is false."""
    return CIMultiDictProxy(
        CIMultiDict({hdrs.CONTENT_TYPE: content_type, **SERVER, **(CORS if cors else {})})
    )


JSON_HEADERS: Final = headers_for("application/json; charset=utf-8")
HEADERS: Final = {JSON: JSON_HEADERS, TEXT: headers_for("text/plain; charset=utf-8")}
SOURCE_HEADER: Final = "X-Numlookup-Source"  # where the answer came from: registry, mnp, upstream, cache
# A page on another origin may read only the headers CORS names: a CRM's browser client wants the source too.
EXPOSE_SOURCE: Final[dict[str, str]] = {hdrs.ACCESS_CONTROL_EXPOSE_HEADERS: SOURCE_HEADER}
SOURCED: Final = {
    (content_type, source): CIMultiDictProxy(CIMultiDict({**headers, **EXPOSE_SOURCE, SOURCE_HEADER: source}))
    for content_type, headers in HEADERS.items()
    for source in (REGISTRY, MNP, UPSTREAM, CACHE)
}


_HEADS: Final[dict[tuple[int, str, str | None], Head]] = {}  # a few statuses × 2 content types × 5 sources


def reply_head(status: int, content_type: str, source: str | None) -> Head:
    """The rendered head of the replies of this status, content type and source (built once)."""
    key = (status, content_type, source)
    head = _HEADS.get(key)
    if head is None:
        headers = HEADERS[content_type] if source is None else SOURCED[content_type, source]
        head = _HEADS[key] = Head(status, headers)
    return head


def reply_response(reply: Reply) -> WireResponse:
    """A :class:`worker.answer.voxlink.Reply` (JSON or ``field=`` plain text) as it goes on the wire."""
    return WireResponse(reply_head(reply.status, reply.content_type, reply.source), reply.body.encode())


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False)  # built once: json.dumps(...) builds one per call


def json_body(body: object) -> bytes:
    return _ENCODER.encode(body).encode()


def json_response(status: int, body: object) -> web.Response:
    return web.Response(body=json_body(body), status=status, headers=JSON_HEADERS)


def error_response(status: int, info: str, **extra: object) -> web.Response:
    """Every error the API writes has this shape: ``{"info": "...", ...}``."""
    return json_response(status, {"info": info, **extra})


def echoable(raw: str) -> str:
    """``raw`` safe to write back as UTF-8: a lone surrogate from a ``\\ud800`` escape becomes ``?``."""
    if raw.isascii():
        return raw
    return raw.encode("utf-8", "replace").decode("utf-8")
