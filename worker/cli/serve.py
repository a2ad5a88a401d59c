"""The serve commands: ``numlookup api``, ``numlookup worker`` and ``numlookup run`` (bodies in
:mod:`worker.service.serve`)."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from worker.errors import ConfigError
from worker.service.resources import run_event_loop
from worker.service.serve import serve_api, serve_everything, serve_worker
from worker.settings import Settings


def add_commands(subparsers: Any) -> None:
    api = subparsers.add_parser("api", help="serve the HTTP API (num.voxlink.ru drop-in, /health, /metrics)")
    _address_options(api, "address to listen on", "port")
    api.add_argument("--workers", type=int, help="processes sharing the port (NUMLOOKUP_HTTP__WORKERS)")
    api.set_defaults(handler=cmd_api)

    worker = subparsers.add_parser(
        "worker", help="answer UserEvent(Num) over AMI and serve FastAGI until SIGTERM (docs/asterisk.md)"
    )
    worker.set_defaults(handler=cmd_worker)

    run = subparsers.add_parser("run", help="API + AMI worker + FastAGI in one process (small installs)")
    _address_options(run, "API address", "API port")
    run.set_defaults(handler=cmd_run, workers=None)


def _address_options(parser: argparse.ArgumentParser, host_help: str, port_help: str) -> None:
    parser.add_argument("--host", help=f"{host_help} (NUMLOOKUP_HTTP__HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"{port_help} (NUMLOOKUP_HTTP__PORT, default 8080)")


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
    return serve_api(with_options(settings, args))


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    run_event_loop(serve_worker(settings))
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    run_event_loop(serve_everything(with_options(settings, args), announce=announce))
    return 0


def announce(text: str) -> None:
    """The banner on stdout, flushed now: it is what a user waits for before ``make run`` blocks."""
    print(text, flush=True)
