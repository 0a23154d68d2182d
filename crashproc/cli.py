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

import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    import argparse

# The status a shell reports for a process killed by SIGPIPE (128 + 13).
EXIT_CLOSED_PIPE = 141


def add_version_argument(parser: argparse.ArgumentParser) -> None:
    """``--version``: prints ``PROG VERSION`` and exits 0."""
    from crashproc.argparsing import VersionAction

    parser.add_argument("--version", action=VersionAction, help="print the version and exit")


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
