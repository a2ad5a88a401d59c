"""``numlookup api``: serve the HTTP API, one process per ``--workers``."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from worker.api.server import run_workers
from worker.errors import ConfigError
from worker.settings import Settings


def add_commands(subparsers: Any) -> None:
    api = subparsers.add_parser("api", help="serve the HTTP API (num.voxlink.ru drop-in, /health, /metrics)")
    api.add_argument("--host", help="address to listen on (NUMLOOKUP_HTTP__HOST, default 127.0.0.1)")
    api.add_argument("--port", type=int, help="port (NUMLOOKUP_HTTP__PORT, default 8080)")
    api.add_argument("--workers", type=int, help="processes sharing the port (NUMLOOKUP_HTTP__WORKERS)")
    api.set_defaults(handler=cmd_api)


def with_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with the command line's ``--host``/``--port``/``--workers`` applied (validated)."""
    given = {
        name: getattr(args, name) for name in ("host", "port", "workers") if getattr(args, name) is not None
    }
    try:
        http = settings.http.model_validate({**settings.http.model_dump(), **given})
    except ValidationError as error:
        raise ConfigError(f"invalid option: {error}") from error
    return settings.model_copy(update={"http": http})


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    settings = with_options(settings, args)
    return run_workers(settings, settings.http.workers)
