"""The ``crashproc`` command line (and ``process-crash``, ``reprocess-crash``): one module per
command in this package, the exit codes and the options every command shares in ``common``.

Exit status: 0 success, 1 when some input could not be handled (the others still are), 2 for
usage or configuration errors, 141 when the reader of the output went away.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from crashproc.cli import add_version_argument, run_main
from processor.cli import (
    collector,
    config,
    daemon,
    process,
    queue,
    report,
    reprocess,
    rules,
    schema,
    submit,
    web,
)
from processor.cli.common import EXIT_USAGE, add_common_arguments, error
from processor.config import ConfigError
from schemas.library import SchemaError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashproc", description="Process crash reports.")
    add_common_arguments(parser, top=True)
    add_version_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for module in (
        process,
        schema,
        report,
        submit,
        collector,
        daemon,
        reprocess,
        queue,
        config,
        rules,
        web,
    ):
        module.add_parser(commands)
    for sub in _leaf_parsers(parser):
        add_common_arguments(sub)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser that runs a command (the ones without subcommands of their own)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(_leaf_parsers(sub) or [sub])
    return found


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def standalone_parser(command: str, prog: str) -> argparse.ArgumentParser:
    """The parser of one ``crashproc`` command run under its own name (``process-crash``,
    ``reprocess-crash``): its help and errors name that program."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices[command]
            sub.prog = prog
            add_version_argument(sub)
            return sub
    raise AssertionError("crashproc has no subcommands")


def run(argv: list[str] | None = None, out: TextIO | None = None, prog: str | None = None) -> int:
    """Run a ``crashproc`` command line; with ``prog``, ``argv`` is the arguments of the
    command ``argv[0]`` run under that program name."""
    if prog is None:
        args = build_parser().parse_args(argv)
    else:
        assert argv
        args = standalone_parser(argv[0], prog).parse_args(argv[1:])
        args.config = getattr(args, "config", None)
        args.verbose = getattr(args, "verbose", 0)
    _configure_logging(args.verbose)
    try:
        return args.func(args, out or sys.stdout)
    except (ConfigError, SchemaError) as exc:
        error(str(exc))
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    return run_main(lambda: run(argv))


def process_crash_main(argv: list[str] | None = None) -> int:
    """``process-crash DIR...``: the same as ``crashproc process DIR...``."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(lambda: run(["process", *argv], prog="process-crash"))


def reprocess_crash_main(argv: list[str] | None = None) -> int:
    """``reprocess-crash ...``: the same as ``crashproc reprocess ...``."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(lambda: run(["reprocess", *argv], prog="reprocess-crash"))


if __name__ == "__main__":
    sys.exit(main())
