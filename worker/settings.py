"""Settings: one ``Settings`` built once by the CLI and passed down.

Sources, strongest first: command-line options (applied by the CLI), environment variables ``NUMLOOKUP_*``
with ``__`` for nesting (``NUMLOOKUP_REDIS__URL``, ``NUMLOOKUP_AMI__HOST``), a TOML file (``--config FILE``,
example in ``config/numlookup.toml``), then the defaults below. Unknown keys are errors, not silent defaults.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from worker.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/numlookup`` (``~/.local/share/numlookup``): per user, survives upgrades."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "numlookup"


def default_brands_file() -> Path:
    return Path(__file__).resolve().parent.parent / "config" / "brands.toml"


def default_workers() -> int:
    """One API process per core this process may run on (the CPU affinity a container or systemd gives)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class RedisSettings(Section):
    url: str | None = None  # e.g. redis://127.0.0.1:6379/0; unset = embedded store, no shared cache
    prefix: str = "numlookup"
    cache_ttl: int = Field(86_400, ge=1)  # seconds an international answer stays cached
    # Share computed answers between replicas. Off by default: bench/cache.py measures a Redis hit at ~80 µs
    # against ~30 µs for libphonenumber itself and 0.15 µs for the in-process cache (docs/performance.md).
    cache: bool = False
    timeout: float = Field(0.5, gt=0)  # seconds; a slower Redis is treated as absent
    # High availability (docs/redis.md). Sentinel: the master named ``service`` is found through these
    # sentinels (``host:port``) and followed across failovers; ``url``, if set, gives only the database,
    # user and password. Cluster: ``url`` names any node, the others are discovered.
    sentinels: list[str] = Field(default_factory=list)
    service: str = "mymaster"
    cluster: bool = False

    @field_validator("sentinels")
    @classmethod
    def _host_port(cls, sentinels: list[str]) -> list[str]:
        for address in sentinels:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"a sentinel is host:port, not {address!r}")
        return sentinels

    @model_validator(mode="after")
    def _one_topology(self) -> RedisSettings:
        if self.sentinels and self.cluster:
            raise ValueError(
                "redis.sentinels and redis.cluster exclude each other (a cluster fails over itself)"
            )
        if self.cluster and not self.url:
            raise ValueError("redis.cluster needs redis.url naming any node of the cluster")
        return self

    @property
    def configured(self) -> bool:
        """Whether numlookup uses Redis at all."""
        return bool(self.url or self.sentinels)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host, int(port)) for host, _, port in (item.rpartition(":") for item in self.sentinels)]


class DataSettings(Section):
    brands: Path = Field(default_factory=default_brands_file)  # ИНН → brand map a user may edit
    keep_versions: int = Field(5, ge=1)  # history kept for rollback
    reload_interval: float = Field(2.0, gt=0)  # how often running services look for a new version
    # updates from the official portal (numlookup data update; docs/updates.md)
    portal_url: str = "https://opendata.digital.gov.ru/downloads/"
    portal_insecure: bool = False  # skip TLS verification (the portal's chain often fails it)
    portal_retries: int = Field(4, ge=1)  # attempts per request, with exponential back-off
    portal_backoff: float = Field(2.0, ge=0)  # seconds before the first retry; doubles each time
    portal_read_timeout: float = Field(60.0, gt=0)  # seconds without a byte before a transfer is retried
    max_range_loss: float = Field(0.05, ge=0, le=1)  # refuse a registry that lost more than this share
    # While the bundled snapshot serves, run/api/worker try the portal once in the background on start.
    fetch_on_start: bool = True
    stale_after_days: int = Field(30, ge=1)  # /health says "warning" once the registry is older than this


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(default_factory=default_workers, ge=1)  # API processes sharing the port
    rate_limit: float = Field(10.0, ge=0)  # requests per second per client address; 0 = off
    trusted_proxies: list[str] = Field(default_factory=list)  # peers whose X-Forwarded-For is believed
    # Client networks the rate limit never applies to: by default this host (a dialplan's CURL() per call).
    rate_limit_exempt: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    batch_limit: int = Field(1000, ge=1)
    batch_item_rate: float = Field(1000.0, ge=0)  # numbers per second per address in batches; 0 = off
    header_timeout: float = Field(10.0, gt=0)  # seconds a request head may take from its first byte
    body_timeout: float = Field(30.0, gt=0)  # seconds a batch body may take to arrive


class AmiServer(Section):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "numlookup"
    secret: SecretStr = SecretStr("")
    # Names the Asterisk in Redis claims and metrics; HA workers on one Asterisk must agree on it.
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.host}:{self.port}"


class AmiSettings(Section):
    host: str | None = None  # a single Asterisk; or list several under ``servers``
    port: int = Field(5038, ge=1, le=65535)
    username: str = "numlookup"
    secret: SecretStr = SecretStr("")
    servers: list[AmiServer] = Field(default_factory=list)
    event: str = "Num"  # the UserEvent name the dialplan raises
    timeout: float = Field(2.0, gt=0)  # seconds one event may take, lookup and Setvars included
    concurrency: int = Field(256, ge=1)  # events handled at once
    # Watchdog: a frozen Asterisk is noticed within ping_interval + ping_timeout seconds.
    ping_interval: float = Field(2.0, gt=0)
    ping_timeout: float = Field(2.0, gt=0)
    login_timeout: float = Field(5.0, gt=0)  # seconds for connect + Login to be answered
    reconnect_min: float = Field(0.5, gt=0)  # first back-off after a failure; doubles up to reconnect_max
    reconnect_max: float = Field(30.0, gt=0)
    claim_ttl: float = Field(30.0, gt=0)  # seconds a Redis claim on a Uniqueid lives (HA)
    name: str | None = None  # the single server's name (see AmiServer.name)
    # Where ``numlookup worker`` serves its own /health and /metrics (``numlookup run`` shows them in the
    # API's): not at all unless a port is set; 0 picks a free one.
    status_host: str = "127.0.0.1"
    status_port: int | None = Field(None, ge=0, le=65535)

    def all_servers(self) -> list[AmiServer]:
        single = (
            [
                AmiServer(
                    host=self.host,
                    port=self.port,
                    username=self.username,
                    secret=self.secret,
                    name=self.name,
                )
            ]
            if self.host
            else []
        )
        return single + list(self.servers)


class FastAgiSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(4573, ge=0, le=65535)
    timeout: float = Field(5.0, gt=0)  # seconds one AGI session may take, headers to last reply


UpstreamKind = Literal["voxlink", "numlookup", "http"]
NumberForm = Literal["international", "plus", "trunk", "national"]  # 79..., +79..., 89..., 9...
DEFAULT_RATES: dict[str, float] = {"voxlink": 8.0, "numlookup": 50.0, "http": 5.0}  # voxlink allows 10/s


class UpstreamSource(Section):
    """One upstream MNP source (docs/upstreams.md). Every number asked is sent to it: a third party."""

    kind: UpstreamKind
    # voxlink / numlookup: the base URL (``https://num.voxlink.ru``); http: the whole URL with ``{number}``
    url: str
    name: str | None = None  # how metrics, /health and the cache name it (default: kind, then kind-2, ...)
    rate: float | None = Field(None, gt=0)  # requests/s shared by every replica (default per kind, above)
    burst: int = Field(1, ge=1)  # requests that may go at once after a quiet spell
    timeout: float = Field(2.0, gt=0)  # seconds for one request
    retries: int = Field(1, ge=0)  # extra attempts after a connection failure (the request never left)
    breaker_failures: int = Field(5, ge=1)  # failures in a row that open the circuit breaker
    breaker_reset: float = Field(30.0, gt=0)  # seconds the breaker stays open before one trial request
    # kind "http" only: how the number goes into {number}, headers (``{secret}`` is replaced by ``secret``),
    # and where the answer's fields are in its JSON (dotted paths: "data.operator.name", "result.0.inn").
    number_form: NumberForm = "international"
    headers: dict[str, str] = Field(default_factory=dict)
    secret: SecretStr = SecretStr("")
    operator: str | None = None  # current operator's name
    operator_inn: str | None = None  # ... or its ИНН
    old_operator: str | None = None  # previous operator's name: present = ported
    old_operator_inn: str | None = None

    @property
    def budget(self) -> float:
        return self.rate if self.rate is not None else DEFAULT_RATES[self.kind]

    @model_validator(mode="after")
    def _template(self) -> UpstreamSource:
        if self.kind == "http":
            if "{number}" not in self.url:
                raise ValueError("an http upstream's url needs {number} where the number goes")
            if self.operator is None and self.operator_inn is None:
                raise ValueError("an http upstream needs operator or operator_inn (a JSON path)")
        return self


class UpstreamSettings(Section):
    """How upstream sources are used (the list itself is ``Settings.upstreams``)."""

    deadline: float = Field(
        0.3, gt=0
    )  # seconds HTTP and FastAGI wait for an upstream before answering locally
    ami_deadline: float = Field(1.0, gt=0)  # seconds the AMI worker holds NUM_STATUS back for an upstream
    answer_ttl: int = Field(7 * 86_400, ge=1)  # seconds an upstream answer is reused
    failure_ttl: int = Field(60, ge=1)  # seconds a failed lookup is not retried
    learned_ttl: int = Field(180 * 86_400, ge=1)  # seconds a number found ported is remembered
    memory_items: int = Field(100_000, ge=1)  # the in-process LRU in front of Redis / the local cache
    queue: int = Field(10_000, ge=1)  # numbers waiting for a background refresh when the budget is spent
    # Local MNP data younger than this answers for itself: a number it lists as ported is not asked, nor
    # (after a full Port_All snapshot) a number it does not list.
    mnp_max_age: float = Field(2 * 86_400, ge=0)


MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
# Non-working public holidays (Labour Code art. 112): calling hours are the weekend's on these days.
RUSSIAN_HOLIDAYS = [
    "01-01", "01-02", "01-03", "01-04", "01-05", "01-06", "01-07", "01-08",
    "02-23", "03-08", "05-01", "05-09", "06-12", "11-04",
]  # fmt: skip


class CallingSettings(Section):
    """The calling window ``callable_now`` / ``NUM_CALLABLE`` judge, in the number's local time.

    Defaults: the hours Federal Law 230-FZ allows debt collectors to call (08:00–22:00 on working days,
    09:00–20:00 on weekends and public holidays)."""

    working_hours: str = "08:00-22:00"  # HH:MM-HH:MM, start inclusive, end exclusive
    weekend_hours: str = "09:00-20:00"
    weekend_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [6, 7])  # ISO
    holidays: list[MonthDay] = Field(default_factory=lambda: list(RUSSIAN_HOLIDAYS))  # MM-DD, every year
    holiday_dates: list[date] = Field(default_factory=list)  # one-off days off (moved holidays)
    working_dates: list[date] = Field(default_factory=list)  # one-off working days (a worked Saturday)

    @field_validator("working_hours", "weekend_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        first, _, last = value.partition("-")
        try:
            start, end = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
            ordered = start < end and start.second == end.second == 0  # whole minutes
        except ValueError:
            ordered = False
        if not ordered:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM with the end after the start")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NUMLOOKUP_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    log_level: str = "INFO"
    redis: RedisSettings = RedisSettings()
    data: DataSettings = DataSettings()
    http: HttpSettings = Field(default_factory=HttpSettings)  # made per load: workers follows the affinity
    ami: AmiSettings = AmiSettings()
    fastagi: FastAgiSettings = FastAgiSettings()
    calling: CallingSettings = CallingSettings()
    upstreams: list[UpstreamSource] = Field(default_factory=list)  # off unless listed: numbers leave the host
    upstream: UpstreamSettings = UpstreamSettings()

    @model_validator(mode="after")
    def _name_upstreams(self) -> Settings:
        seen: set[str] = set()
        for source in self.upstreams:
            if source.name is None:
                base, count = source.kind, 1
                while (candidate := base if count == 1 else f"{base}-{count}") in seen:
                    count += 1
                source.name = candidate
            if source.name in seen:
                raise ValueError(f"two upstreams are named {source.name!r}")
            seen.add(source.name)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML source reads model_config["toml_file"]: set by load_settings() for --config, else none.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


ENV_PREFIX: Final = "NUMLOOKUP_"
# NUMLOOKUP_* names that are not settings of this program: the AGI script's (asterisk-conf/agi) and the
# test suite's (NUMLOOKUP_TEST_REDIS_URL and any other NUMLOOKUP_TEST_*).
OTHER_PROGRAMS: Final = frozenset({"NUMLOOKUP_URL", "NUMLOOKUP_TIMEOUT"})


def unknown_environment(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``NUMLOOKUP_*`` variable that names no setting (``NUMLOOKUP_REDIS_URL`` for
    ``NUMLOOKUP_REDIS__URL``): pydantic-settings ignores them silently, so a typo would mean a default.
    Unknown keys *inside* a section (``NUMLOOKUP_REDIS__URLL``) are already errors, as in the TOML file."""
    fields = Settings.model_fields
    known = [ENV_PREFIX + name.upper() for name in fields]
    known += [
        f"{ENV_PREFIX}{name.upper()}__{sub.upper()}"
        for name, field in fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        for sub in field.annotation.model_fields
    ]
    warnings = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OTHER_PROGRAMS or upper.startswith("NUMLOOKUP_TEST_"):
            continue
        if upper[len(ENV_PREFIX) :].split("__", 1)[0].lower() in fields:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else " (sections nest with a double underscore)"
        warnings.append(f"{variable} names no setting and is ignored{hint}")
    return warnings


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment, an optional TOML file and explicit overrides."""
    settings_cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
        settings_cls = type("Settings", (Settings,), {"model_config": config})
    try:
        return settings_cls(**overrides)
    except ValidationError as error:
        raise ConfigError(f"invalid settings: {error}") from error
