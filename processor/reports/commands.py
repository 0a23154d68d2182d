"""``crashproc report ...``: the report commands and the index rebuild, wired to argparse.

Every command takes ``--index PATH`` (the SQLite report index; ``CRASHPROC_REPORT_INDEX`` or
``./var/report-index.sqlite``) and ``--storage URL`` (the crash storage the index describes;
``CRASHPROC_STORAGE`` or ``./var/crashes``): ``reindex`` reads it, the reports name it in their
advice when the index is missing. Errors are one line on stderr and exit status 1 (2 for usage).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from processor.reports.index import ReportIndex, ReportIndexError, default_index_path
from processor.reports.progress import ProgressBar
from processor.reports.reindex import reindex
from processor.storage import StorageError, open_storage

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STORAGE_ENV = "CRASHPROC_STORAGE"
DEFAULT_STORAGE = "./var/crashes"


def default_storage_url() -> str:
    return os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


def _error(message: str) -> None:
    print(f"crashproc report: error: {message}", file=sys.stderr)


def cmd_reindex(args: argparse.Namespace, out: TextIO) -> int:
    try:
        storage = open_storage(args.storage)
    except StorageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    bar = ProgressBar("reindex")
    try:
        with ReportIndex(args.index) as index:
            result = reindex(storage, index, progress=bar)
    except (ReportIndexError, StorageError) as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        bar.finish()
        storage.close()
    print(
        f"indexed {result.indexed} crashes from {storage.describe()} into {args.index}"
        f" ({result.not_processed} not processed yet, {result.unreadable} unreadable,"
        f" {result.dropped} stale rows dropped)",
        file=out,
    )
    return EXIT_FAILED if result.unreadable else EXIT_OK


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        default=default_storage_url(),
        metavar="URL",
        help=f"crash storage (directory, file:PATH or s3://bucket/prefix; default ${STORAGE_ENV} "
        f"or {DEFAULT_STORAGE})",
    )
    parser.add_argument(
        "--index",
        default=default_index_path(),
        metavar="PATH",
        help="report index (default $CRASHPROC_REPORT_INDEX or ./var/report-index.sqlite)",
    )


def add_report_commands(commands: Any) -> None:
    """Add ``report`` and its sub-commands to the ``crashproc`` sub-parsers ``commands``."""
    report = commands.add_parser("report", help="reports over processed crashes")
    actions = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")

    rebuild = actions.add_parser("reindex", help="rebuild the report index from crash storage")
    _common_arguments(rebuild)
    rebuild.set_defaults(func=cmd_reindex)
