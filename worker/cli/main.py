"""``numlookup`` (and ``python -m worker``): one argparse tree, ``numlookup lookup`` and the entry point.

Every command is ``handler(settings, args) -> exit status``. Errors a user can fix print one line to stderr
and exit 2; nothing prints a traceback for bad input. ``numlookup lookup`` tells answered (0), not found (1),
error (2) and malformed (3) apart (:data:`EXIT_STATUSES`, shown by ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from worker import __version__
from worker.answer.voxlink import V2_NOT_FOUND, Meaning, Outcome, Reply, meaning, to_json, v1_reply, v2_reply
from worker.cli import data, enrich, serve
from worker.errors import InvalidNumber, NumlookupError
from worker.service.resources import open_engine, open_redis
from worker.settings import Settings, load_settings, unknown_environment

Handler = Callable[[Settings, argparse.Namespace], int]

EXIT_ANSWERED, EXIT_NOT_FOUND, EXIT_ERROR, EXIT_MALFORMED = 0, 1, 2, 3
EXIT_STATUSES: Final = f"""exit status:
  {EXIT_ANSWERED}  answered
  {EXIT_NOT_FOUND}  not found: a Russian number in no registry range, or (v1) a number of another country
  {EXIT_ERROR}  error: bad usage or settings, unknown --field, no registry data loaded (v1), a failed command
  {EXIT_MALFORMED}  malformed number: not a phone number at all ("0", "123", 15 digits)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numlookup",
        description="Phone-number intelligence service.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"numlookup {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (example: config/numlookup.toml)")
    parser.add_argument("--data-dir", type=Path, help="dataset directory (NUMLOOKUP_DATA_DIR)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (NUMLOOKUP_LOG_LEVEL)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lookup = commands.add_parser(
        "lookup",
        help="look a number up; prints what the HTTP API would answer",
        description="Look a number up; prints what the HTTP API would answer.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lookup.add_argument("number")
    lookup.add_argument("--v2", action="store_true", help="the /get/v2/ answer (any country)")
    lookup.add_argument("--field", help="print only this field's value, as ?field= does")
    lookup.add_argument("--translit", action="store_true", help="Latin letters, as ?translit=1 does")
    lookup.set_defaults(handler=cmd_lookup)

    data.add_commands(commands)
    enrich.add_command(commands)
    serve.add_commands(commands)
    return parser


def cmd_lookup(settings: Settings, args: argparse.Namespace) -> int:

    async def resolve() -> int:
        async with (
            open_redis(settings) as redis,
            open_engine(settings, redis, follow_updates=False) as engine,
        ):
            outcome: Outcome
            try:
                outcome = await engine.lookup(args.number)
            except InvalidNumber as error:
                outcome = error
            loaded = engine.dataset is not None
        if args.v2:
            reply = v2_reply(args.number, outcome, field=args.field, clock=engine.clock)
        else:
            reply = v1_reply(args.number, outcome, field=args.field, translit=args.translit, loaded=loaded)
        print(reply.body)
        return lookup_status(reply, meaning(outcome, loaded=loaded), v2=args.v2)

    return asyncio.run(resolve())


def lookup_status(reply: Reply, found: Meaning, *, v2: bool) -> int:
    """The exit status of ``numlookup lookup`` (:data:`EXIT_STATUSES`)."""
    if reply.status == 400 or (found == Meaning.NO_DATA and not v2):
        return EXIT_ERROR
    if found == Meaning.MALFORMED:
        return EXIT_MALFORMED
    if reply.status == 200 and reply.body != to_json(V2_NOT_FOUND):
        return EXIT_ANSWERED
    return EXIT_NOT_FOUND


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.log_level is not None:
        overrides["log_level"] = args.log_level
    try:
        settings = load_settings(args.config, **overrides)
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        for warning in unknown_environment(os.environ):
            logging.getLogger("numlookup").warning("%s", warning)
        handler: Handler = args.handler
        status = handler(settings, args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return status
    except BrokenPipeError:  # `numlookup data diff | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except NumlookupError as error:
        for line in str(error).splitlines() or [""]:  # one line per bad file of an import
            print(f"numlookup: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
