"""The production commands of ``crashproc``: submit, daemon, reprocess, queue, config (one module
each)."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register every command of this package on the ``crashproc`` subparsers."""
    from processor.commands import config, daemon, queue, reprocess, submit

    for module in (submit, daemon, reprocess, queue, config):
        module.add_parser(commands)
