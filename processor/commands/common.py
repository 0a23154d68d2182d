"""What the storage and queue commands share: their URL flags and how settings are made."""

from __future__ import annotations

import argparse
import sys

from processor.cli import pipeline_settings
from processor.config import Settings


def error(message: str) -> None:
    print(f"crashproc: error: {message}", file=sys.stderr)


def add_storage_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="crash storage: a directory, file:PATH or s3://bucket/prefix "
        "(default: CRASHPROC_STORAGE or ./var/crashes)",
    )


def add_queue_argument(parser: argparse.ArgumentParser, **kwargs: object) -> None:
    options: dict[str, object] = {
        "metavar": "URL",
        "help": "crash queue: sqlite:PATH or redis://host:port/db "
        "(default: CRASHPROC_QUEUE or sqlite:./var/queue.sqlite)",
    }
    options.update(kwargs)
    parser.add_argument("--queue", **options)  # type: ignore[arg-type]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment settings, overridden by the pipeline, storage, queue and worker flags."""
    settings = pipeline_settings(args)
    if getattr(args, "storage", None):
        settings.storage = args.storage
    if getattr(args, "queue", None):
        settings.queue = args.queue
    if getattr(args, "workers", None) is not None:
        settings.workers = args.workers
    settings.check()
    return settings
