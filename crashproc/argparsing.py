"""The argparse pieces every command line shares, apart from crashproc.cli so that a
command that can parse its arguments without argparse (the one-dump ``stackwalk``) does
not import it: argparse and its gettext lookups are a tenth of such a process."""

from __future__ import annotations

import argparse
import os
import sys

from crashproc import version


class VersionAction(argparse.Action):
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
