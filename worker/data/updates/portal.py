"""The official registry portal: its directory listing, and downloads that are complete or nothing.

The portal (``DataSettings.portal_url``) is an nginx autoindex of ``ABC-3xx.csv``, ``ABC-4xx.csv``,
``ABC-8xx.csv`` and ``DEF-9xx.csv``. Three habits of it shape this client: it answers 403 to clients without
a browser-like User-Agent (and to many non-Russian addresses), its TLS chain often fails verification (it is
issued under the Russian Trusted Root CA, absent from most trust stores), and long transfers sometimes stop
half-way. So every request sends a browser User-Agent, a verification failure is reported as such with the way
out, and a download is accepted only when its length matches ``Content-Length`` and its header is the
registry's; anything transient is retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, TypeVar

import aiohttp

from worker.errors import PortalError, PortalRetryable

log = logging.getLogger(__name__)

REGISTRY_FILES: Final = ("ABC-3xx.csv", "ABC-4xx.csv", "ABC-8xx.csv", "DEF-9xx.csv")
BROWSER_USER_AGENT: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
CHUNK: Final = 1 << 16

# nginx autoindex: <a href="ABC-3xx.csv">ABC-3xx.csv</a>      18-Jul-2026 03:12     8912345
_ROW = re.compile(
    r'<a href="(?P<href>[^"]+)">[^<]*</a>\s+'
    r"(?P<date>\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}(?::\d{2})?|\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?)"
    r"\s+(?P<size>\S+)"
)
_DATE_FORMATS: Final = ("%d-%b-%Y %H:%M", "%d-%b-%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
# The first column of every registry generation: "АВС/ DEF" (Cyrillic or Latin letters), old "ABC"/"DEF".
_HEADER = re.compile(r"^\s*(?:[AА][BВ][CС]|DEF)\b", re.IGNORECASE)

T = TypeVar("T")
Progress = Callable[[str, int, int | None], None]  # file name, bytes so far, bytes expected (if known)


@dataclass(frozen=True)
class Listed:
    """One file as the portal's listing shows it."""

    name: str
    modified: str | None  # ISO time as listed (the portal's local time, no zone): compared, not computed
    size: int | None  # None when the listing shows a rounded size ("8M")


@dataclass(frozen=True)
class Fetched:
    """A complete, checked download."""

    name: str
    path: Path
    size: int
    sha256: str


def parse_listing(text: str) -> dict[str, Listed]:
    """File name → :class:`Listed` from an autoindex page (nginx's, or the ISO-dated variant)."""
    found: dict[str, Listed] = {}
    for match in _ROW.finditer(text):
        name = html.unescape(match["href"]).rsplit("/", 1)[-1]
        if not name:
            continue
        size = match["size"]
        found[name] = Listed(name, _iso(match["date"]), int(size) if size.isdigit() else None)
    return found


def _iso(listed: str) -> str | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(listed, pattern).isoformat()
        except ValueError:
            continue
    return None


def check_header(path: Path) -> None:
    """Raise :class:`PortalError` unless the file starts like a registry CSV (not an HTML error page)."""
    with open(path, "rb") as source:
        first = source.readline(4096)
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            line = first.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _HEADER.match(line) and line.count(";") >= 5:
            return
    raise PortalError(path.name, f"not a registry file: its first line is {first[:80]!r}")


class Portal:
    """A client of the portal; the caller owns ``session`` if it passes one (tests do)."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool = True,
        retries: int = 4,
        backoff: float = 1.0,
        read_timeout: float = 60.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.verify = verify
        self.retries = retries
        self.backoff = backoff
        self.timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_read=read_timeout)
        self._session = session
        self._owned: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Portal:
        if self._session is None:
            self._owned = self._session = aiohttp.ClientSession(
                headers={"User-Agent": BROWSER_USER_AGENT, "Accept": "*/*"}, timeout=self.timeout
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._owned is not None:
            await self._owned.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use Portal as 'async with Portal(...) as portal'")
        return self._session

    async def listing(self) -> dict[str, Listed]:
        async def attempt() -> dict[str, Listed]:
            async with self._get(self.base_url) as response:
                _raise_for_status(self.base_url, response)
                return parse_listing(await response.text(errors="replace"))

        return await self._retrying(self.base_url, attempt)

    async def download(self, name: str, directory: Path, progress: Progress | None = None) -> Fetched:
        """Download ``name`` into ``directory``; complete and checked, or :class:`PortalError`."""
        url = self.base_url + name
        target = directory / name

        async def attempt() -> Fetched:
            fetched = await self._download_once(url, name, target, progress)
            check_header(target)
            return fetched

        return await self._retrying(url, attempt)

    async def _download_once(self, url: str, name: str, target: Path, progress: Progress | None) -> Fetched:
        digest = hashlib.sha256()
        received = 0
        async with self._get(url) as response:
            _raise_for_status(url, response)
            expected = response.content_length
            with open(target, "wb") as out:  # noqa: ASYNC230 - 64 KiB writes to local disk
                async for chunk in response.content.iter_chunked(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(name, received, expected)
        if expected is not None and received != expected:
            raise PortalRetryable(url, f"transfer stopped after {received:,} of {expected:,} bytes")
        return Fetched(name, target, received, digest.hexdigest())

    def _get(self, url: str) -> aiohttp.client._RequestContextManager:
        return self.session.get(url, ssl=self.verify, headers={"User-Agent": BROWSER_USER_AGENT})

    async def _retrying(self, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        delay = self.backoff
        for number in range(1, self.retries + 1):
            try:
                return await attempt()
            except aiohttp.ClientConnectorCertificateError as error:
                raise PortalError(url, tls_reason(error)) from error
            except (PortalRetryable, aiohttp.ClientError, TimeoutError) as error:
                reason = _describe(error)
                if number == self.retries:
                    raise PortalError(url, f"{reason} (gave up after {number} attempts)") from error
                log.warning("%s: %s; retry %d of %d in %.1f s", url, reason, number, self.retries - 1, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # retries >= 1


def _raise_for_status(url: str, response: aiohttp.ClientResponse) -> None:
    if response.status == 200:
        return
    if response.status == 403:
        raise PortalError(
            url,
            "403 Forbidden: the portal refuses clients without a browser User-Agent and most non-Russian "
            "IP addresses; run the update from a Russian address (or through a proxy there)",
        )
    if response.status >= 500 or response.status == 429:
        raise PortalRetryable(url, f"HTTP {response.status} {response.reason or ''}".strip())
    raise PortalError(url, f"HTTP {response.status} {response.reason or ''}".strip())


def tls_reason(error: aiohttp.ClientConnectorCertificateError) -> str:
    detail = getattr(error.certificate_error, "verify_message", None) or str(error.certificate_error)
    return (
        f"TLS certificate verification failed ({detail}). The portal's certificate chains to the Russian "
        "Trusted Root CA, which most systems do not trust: install that CA into the system trust store, or "
        "skip verification with --insecure (or NUMLOOKUP_DATA__PORTAL_INSECURE=true)"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, PortalRetryable):
        return error.reason
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"unreachable ({error.os_error.strerror or error.os_error})"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"transfer broken ({error})"
    if isinstance(error, ssl.SSLError):
        return f"TLS error ({error})"
    return str(error) or type(error).__name__
