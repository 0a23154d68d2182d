"""Conventions every crashproc command line follows: ``--version``, quiet closed pipes, and
flags whose help says which configured setting they override.

Importing this module stays cheap (no configuration, no package metadata) because every
console script imports it before it knows what it will do: ``--version`` looks the version
up when asked, and ``setting_help`` loads the settings' declarations when a parser uses it.

A command piped into ``head`` must stop quietly when the reader goes away, as Unix tools do,
instead of printing a ``BrokenPipeError`` traceback; ``run_main`` gives every console script
that behaviour in one place.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from crashproc import version

# The status a shell reports for a process killed by SIGPIPE (128 + 13).
EXIT_CLOSED_PIPE = 141


class _VersionAction(argparse.Action):
    """argparse's ``version`` action, with the version looked up only when it is asked for."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        sys.stdout.write(f"{parser.prog} {version()}\n")
        parser.exit()


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized to the terminal as argparse sizes it but without
    importing shutil (and with it zlib, bz2 and lzma): argparse builds a formatter for
    every add_argument, so a one-shot command would pay for that import on every run."""

    def __init__(self, prog: str, **kwargs) -> None:
        kwargs.setdefault("width", _terminal_columns() - 2)
        super().__init__(prog, **kwargs)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def add_version_argument(parser: argparse.ArgumentParser) -> None:
    """``--version``: prints ``PROG VERSION`` and exits 0."""
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")


def setting_help(key: str, text: str | None = None) -> str:
    """The help of a flag that sets configured value ``key``: what it does, its real default,
    and the file key and environment variable that set it too."""
    from crashproc import config

    decl = config.setting(key)
    return (
        f"{text or decl.help} (default: {decl.default_text()}; config {decl.key}, env {decl.env})"
    ).replace("%", "%%")


def run_main(main: Callable[[], int]) -> int:
    """Run a console script's ``main``; a reader that closed our stdout ends the run quietly."""
    try:
        status = main()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
