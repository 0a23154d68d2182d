"""``crashproc daemon``: process queued crashes with worker processes until stopped."""

from __future__ import annotations

import argparse
import logging
from typing import TextIO

from processor.cli.common import (
    EXIT_USAGE,
    add_pipeline_arguments,
    add_queue_argument,
    add_storage_argument,
    error,
    settings_from_args,
)
from processor.config import ConfigError
from processor.queues import QueueError
from processor.rulesets import RulesetError
from processor.storage import StorageError


def cmd_daemon(args: argparse.Namespace, out: TextIO) -> int:
    from processor.service.daemon import Daemon

    # The progress line is the daemon's main output: shown without -v.
    logging.getLogger("crashproc.daemon").setLevel(logging.INFO)
    try:
        settings = settings_from_args(args)
        daemon = Daemon(settings, once=args.once)
        return daemon.run()
    except (ConfigError, RulesetError, StorageError, QueueError) as exc:
        error(str(exc))
        return EXIT_USAGE


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "daemon", help="process queued crashes with worker processes until stopped"
    )
    add_storage_argument(parser)
    add_queue_argument(parser)
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default: CRASHPROC_WORKERS or one per CPU)",
    )
    parser.add_argument("--once", action="store_true", help="stop when the queues are empty")
    add_pipeline_arguments(parser)
    parser.set_defaults(func=cmd_daemon)
