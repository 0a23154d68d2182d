"""``crashproc process DIR...`` (also ``process-crash``): process crash directories here and
print (or write) the processed crashes, one crash's failure never stopping the others."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TextIO

from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_pipeline_arguments,
    add_ruleset_argument,
    error,
    settings_from_args,
)
from processor.cli.output import dumps_json, summary_line, write_atomically
from processor.config import ConfigError
from processor.crashdir import CrashInputError, load_crash_dir
from processor.errors import traceback_without_message
from processor.pipeline import UnknownRuleset
from processor.rulesets import RulesetError
from schemas.library import SchemaError, load_schema

logger = logging.getLogger("crashproc")


def cmd_process(args: argparse.Namespace, out: TextIO) -> int:
    from processor.observability.setup import setup_observability
    from processor.runner import CrashProcessor

    try:
        settings = settings_from_args(args)
        processor = CrashProcessor(settings, error_reporter=setup_observability(settings))
    except (ConfigError, RulesetError, SchemaError) as exc:
        error(str(exc))
        return EXIT_USAGE
    try:
        processor.check_ruleset(args.ruleset)
    except UnknownRuleset as exc:
        error(exc.args[0])
        return EXIT_USAGE
    public_schema = load_schema("processed_crash", settings.schema_dir) if args.public else None
    status = EXIT_OK
    for directory in args.dirs:
        try:
            crash = load_crash_dir(directory, settings.max_raw_crash_size, settings.max_dump_size)
            processed = processor.process(crash, args.ruleset)
            document = public_schema.public_view(processed) if public_schema else processed
            if args.out:
                target = Path(args.out) / f"{crash.crash_id}.json"
                write_atomically(target, dumps_json(document) + "\n")
                print(f"{summary_line(processed, directory)}  -> {target}", file=out)
            elif args.format == "summary":
                print(summary_line(processed, directory), file=out)
            else:
                print(dumps_json(document), file=out)
            out.flush()
        except CrashInputError as exc:
            error(str(exc))
            status = EXIT_FAILED
        except BrokenPipeError:
            raise  # the reader went away: the command ends quietly (status 141)
        except Exception as exc:
            # A bug must not cost the rest of the batch; the message may hold crash data.
            logger.error("processing %s failed\n%s", directory, traceback_without_message(exc))
            error(f"{directory}: unexpected {exc.__class__.__name__} while processing")
            status = EXIT_FAILED
    processor.close()
    return status


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("process", help="process crash directories")
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="crash directories")
    add_ruleset_argument(parser)
    parser.add_argument(
        "--out", metavar="DIR", help="write <crash_id>.json files here instead of stdout"
    )
    parser.add_argument(
        "--public", action="store_true", help="print the public view (protected fields removed)"
    )
    parser.add_argument(
        "--format",
        choices=("json", "summary"),
        default="json",
        help="json: one processed crash per line; summary: one line per crash",
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(func=cmd_process)
