"""The one exception tree of numlookup.

    NumlookupError
    ├── InvalidNumber           what was typed cannot be a phone number (carries ``raw``)
    ├── ConfigError             settings or a config file a user wrote are wrong
    ├── DataError               anything about the dataset
    │   ├── MalformedInput      a registry / MNP file that cannot be read (carries ``path``, ``line``)
    │   ├── BadFiles            several files of one import cannot be read: one line each
    │   │                       (carries ``errors``, the :class:`MalformedInput` of every bad file)
    │   ├── DatasetMissing      no dataset has been imported yet (carries ``where``)
    │   ├── SanityCheckFailed   a new dataset looks broken; the previous one keeps serving
    │   └── VersionLoadFailed   a published version could not be loaded; the old one keeps serving
    │                           (carries ``version``)
    ├── PortalError             the official portal could not be reached or refused (carries ``url``)
    │   └── PortalRetryable     a failure worth retrying: a 5xx or 429, a truncated transfer
    ├── AmiError                Asterisk answered ``Response: Error`` (carries the response headers)
    ├── AmiLoginFailed          Asterisk refused the Login, or did not answer it (carries ``server``)
    ├── AmiUnavailable          no live AMI session for an action: disconnected, or the action is stale
    │                           (it was meant for a session that has since been replaced; carries ``server``)
    └── UpstreamError           an upstream MNP source failed a request (carries ``source``, ``status``)
        └── UpstreamSent        ... after the request may have reached it (a timeout, a 5xx, a 429, bad
                                JSON), so it is not repeated at once: only a connection failure is retried

An ``UpstreamError`` never reaches a front end: the lookup answers from local data instead.
Front ends translate these at their boundary: the HTTP API into the documented 404 bodies, the AMI worker
and FastAGI into ``NUM_STATUS=INVALID``/``ERROR``, the CLI into a one-line message and exit status.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class NumlookupError(Exception):
    """Base of every error numlookup raises on purpose."""


class InvalidNumber(NumlookupError):
    def __init__(self, raw: str, reason: str = "not a phone number") -> None:
        super().__init__(f"{reason}: {raw!r}")
        self.raw = raw
        self.reason = reason


class ConfigError(NumlookupError):
    pass


class DataError(NumlookupError):
    pass


class MalformedInput(DataError):
    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = Path(path)
        self.line = line
        self.reason = reason


class BadFiles(DataError):
    def __init__(self, errors: list[MalformedInput]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


class DatasetMissing(DataError):
    def __init__(self, where: str) -> None:
        super().__init__(f"no dataset in {where}: run 'numlookup data import PATH' first")
        self.where = where


class SanityCheckFailed(DataError):
    pass


class VersionLoadFailed(DataError):
    def __init__(self, version: str, reason: str) -> None:
        super().__init__(f"dataset {version} failed to load: {reason}")
        self.version = version
        self.reason = reason


class PortalError(NumlookupError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class PortalRetryable(PortalError):
    pass


class AmiError(NumlookupError):
    def __init__(self, action: str, response: Mapping[str, str]) -> None:
        message = response.get("Message", "")
        super().__init__(f"AMI {action} failed: {message}")
        self.action = action
        self.response = dict(response)
        self.message = message


class AmiLoginFailed(NumlookupError):
    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"AMI {server}: Login failed: {reason}")
        self.server = server
        self.reason = reason


class AmiUnavailable(NumlookupError):
    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"AMI {server}: {reason}")
        self.server = server
        self.reason = reason


class UpstreamError(NumlookupError):
    def __init__(
        self, source: str, reason: str, *, status: int | None = None, retry_after: float = 0.0
    ) -> None:
        super().__init__(f"upstream {source}: {reason}")
        self.source = source
        self.reason = reason
        self.status = status  # the HTTP status, when there was an answer
        self.retry_after = retry_after  # seconds the source asked us to wait (429 Retry-After), else 0


class UpstreamSent(UpstreamError):
    pass
