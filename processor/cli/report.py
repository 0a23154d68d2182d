"""``crashproc report ...``: the report commands and the index rebuild.

Every command takes ``--storage URL`` (default: the configured storage, ``CRASHPROC_STORAGE``
or ``./var/crashes``) and ``--index PATH`` (default: ``CRASHPROC_REPORT_INDEX``, else beside a
local storage directory, ``./var/report-index.sqlite`` by default): ``reindex`` reads the
storage, the reports read the index of that storage. Errors are one line on stderr and exit
status 1 (2 for usage and configuration).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from typing import Any, TextIO

from crashproc.progress import ProgressCallback
from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_setting_argument,
    add_storage_argument,
    settings_from_args,
)
from processor.config import Settings
from processor.reports.compare import PeriodError, compare, parse_period
from processor.reports.formats import FORMATS
from processor.reports.index import (
    MissingIndexError,
    ReportIndex,
    ReportIndexError,
    configured_index_path,
)
from processor.reports.model import Report
from processor.reports.owed import OwedCrashes
from processor.reports.queries import DEFAULT_TOP, KINDS, Period, report
from processor.reports.reindex import reindex
from processor.reports.schema import SCHEMA_VERSION
from processor.storage import StorageError, open_storage


def _error(message: str) -> None:
    print(f"crashproc report: error: {message}", file=sys.stderr)


def _resolve(args: argparse.Namespace) -> Settings:
    """Fill in --storage and --index from the configuration (a ConfigError is a usage error)."""
    settings = settings_from_args(args)
    args.storage = settings.storage
    args.index = configured_index_path(settings.report_index, settings.storage)
    return settings


def cmd_reindex(args: argparse.Namespace, out: TextIO) -> int:
    settings = _resolve(args)
    try:
        storage = open_storage(args.storage, s3_endpoint_url=settings.s3_endpoint_url)
    except StorageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    bar = ProgressCallback("reindex", unit="crash")
    try:
        with ReportIndex(args.index) as index:
            result = reindex(storage, index, progress=bar)
    except (ReportIndexError, StorageError) as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        bar.close()
        storage.close()
    print(
        f"indexed {result.indexed} crashes from {storage.describe()} into {args.index}"
        f" ({result.not_processed} not processed yet, {result.unreadable} unreadable,"
        f" {result.dropped} stale rows dropped)",
        file=out,
    )
    return EXIT_FAILED if result.unreadable else EXIT_OK


def cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    """Bring the index's schema to this crashproc's version, every migration included."""
    _resolve(args)
    try:
        with ReportIndex(args.index) as index:
            before = index.schema_version()
            applied = index.open_schema(offline=True)
    except ReportIndexError as exc:
        _error(str(exc))
        return EXIT_FAILED
    if not applied:
        print(f"report index {index.path}: at schema version {SCHEMA_VERSION}", file=out)
    elif before == 0:
        print(f"report index {index.path}: created at schema version {SCHEMA_VERSION}", file=out)
    else:
        steps = "; ".join(f"{m.version}: {m.summary}" for m in applied)
        print(
            f"report index {index.path}: migrated from schema version {before} to "
            f"{SCHEMA_VERSION} ({steps})",
            file=out,
        )
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, out: TextIO) -> int:
    """Drop the crashes older than the retention period from the index (storage is kept)."""
    _resolve(args)
    before = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=args.older_than)
    bar = ProgressCallback("prune", unit="day")
    try:
        with ReportIndex(args.index, create=False) as index:
            dropped = index.prune(before, progress=bar)
    except MissingIndexError:
        _error(_missing_index_advice(args))
        return EXIT_FAILED
    except ReportIndexError as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        bar.close()
    print(f"dropped {dropped} crashes dated before {before} from {index.path}", file=out)
    return EXIT_OK


def cmd_repair(args: argparse.Namespace, out: TextIO) -> int:
    """Index the crashes this host saved while the index database was away."""
    settings = _resolve(args)
    owed = OwedCrashes(settings.report_owed)
    try:
        storage = open_storage(args.storage, s3_endpoint_url=settings.s3_endpoint_url)
    except StorageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        with ReportIndex(args.index) as index:
            repaired = owed.repair(storage, index)
    except (ReportIndexError, StorageError) as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        storage.close()
    left = len(owed.crash_ids())
    print(f"indexed {repaired} owed crashes into {index.path} ({left} still owed)", file=out)
    return EXIT_FAILED if left else EXIT_OK


def days_argument(text: str) -> int:
    """A retention period: ``90d`` (or ``90``) days."""
    number = text[:-1] if text.endswith("d") else text
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of days (e.g. 90d)")
    return int(number)


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """missing-symbols and signatures: one period, optionally one module."""
    period = Period(args.since, args.until)
    if period.since and period.until and period.since > period.until:
        _error(f"--since {period.since} is after --until {period.until}")
        return EXIT_USAGE
    kind = KINDS[args.report_command]
    module = getattr(args, "module", None)
    return _run(args, out, lambda index: report(index, kind, period, module, args.top))


def _run(args: argparse.Namespace, out: TextIO, build: Callable[[ReportIndex], Report]) -> int:
    """Open the index for reading, build the report, print it in the chosen format."""
    _resolve(args)
    try:
        with ReportIndex(args.index, create=False) as index:
            result = build(index)
    except MissingIndexError:
        _error(_missing_index_advice(args))
        return EXIT_FAILED
    except ReportIndexError as exc:
        _error(str(exc))
        return EXIT_FAILED
    out.write(FORMATS[args.format](result))
    return EXIT_OK


def _missing_index_advice(args: argparse.Namespace) -> str:
    """What to run when there is no index: fill the storage first if it is empty (as after
    `make demo`, which processes without storing), else rebuild the index from it. Only a
    local storage is looked into: a remote one may be slow to answer an error path."""
    empty = False
    if "://" not in args.storage:
        try:
            storage = open_storage(args.storage)
            empty = next(iter(storage.list_crash_ids()), None) is None
        except (StorageError, OSError):
            empty = False
    if empty:
        return (
            f"no crashes stored in {args.storage} yet: store and process some with "
            "`crashproc submit CRASH_DIR...` then `crashproc daemon --once` "
            "(the daemon keeps the report index), then run this report again"
        )
    return (
        f"no report index at {args.index}: build it from the stored crashes with "
        f"`crashproc report reindex --storage {args.storage} --index {args.index}`"
    )


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    """One report over two periods, side by side."""
    kind = KINDS[args.kind]
    if args.module is not None and kind.name != "signatures":
        _error("--module applies to the signatures report only")
        return EXIT_USAGE
    return _run(
        args,
        out,
        lambda index: compare(index, kind, args.before, args.after, args.module, args.top),
    )


def period_argument(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_date(text: str) -> datetime.date:
    """YYYY-MM-DD, for argparse (a bad date is a usage error naming the format)."""
    try:
        return datetime.date.fromisoformat(text) if len(text) == 10 else _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> datetime.date:
    raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a date (YYYY-MM-DD)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a positive whole number")
    return value


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--top",
        type=positive_int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"rows to show (default {DEFAULT_TOP})",
    )
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        default="text",
        help="text (default), md, csv, json or html (one self-contained page)",
    )


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    add_storage_argument(parser)
    add_setting_argument(parser, "report_index", metavar="PATH|URL")


def add_parser(commands: Any) -> None:
    """Add ``report`` and its sub-commands to the ``crashproc`` sub-parsers ``commands``."""
    report = commands.add_parser("report", help="reports over processed crashes")
    actions = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")

    for name, help_text in (
        ("missing-symbols", "modules without symbols: ids, crash reports, reason"),
        ("signatures", "signatures ranked by crash reports"),
    ):
        sub = actions.add_parser(name, help=help_text)
        _common_arguments(sub)
        sub.add_argument("--since", type=parse_date, metavar="DATE", help="first day (YYYY-MM-DD)")
        sub.add_argument("--until", type=parse_date, metavar="DATE", help="last day (YYYY-MM-DD)")
        if name == "signatures":
            sub.add_argument(
                "--module",
                metavar="NAME",
                help="only crashes with this module on the crashing stack (e.g. xul.dll)",
            )
        _output_arguments(sub)
        sub.set_defaults(func=cmd_report)

    comparison = actions.add_parser(
        "compare", help="a report over two periods side by side, with rank changes"
    )
    comparison.add_argument(
        "kind", nargs="?", choices=list(KINDS), default="signatures", help="default: signatures"
    )
    _common_arguments(comparison)
    for side in ("before", "after"):
        comparison.add_argument(
            f"--{side}",
            type=period_argument,
            required=True,
            metavar="SINCE..UNTIL",
            help=f"the {side} period, days YYYY-MM-DD (an end may be left out)",
        )
    comparison.add_argument(
        "--module", metavar="NAME", help="signatures only: crashes with this module on the stack"
    )
    _output_arguments(comparison)
    comparison.set_defaults(func=cmd_compare)

    rebuild = actions.add_parser("reindex", help="rebuild the report index from crash storage")
    _common_arguments(rebuild)
    rebuild.set_defaults(func=cmd_reindex)

    migrate = actions.add_parser(
        "migrate",
        help="upgrade the report index's schema in place (also done at start-up when safe)",
    )
    _common_arguments(migrate)
    migrate.set_defaults(func=cmd_migrate)

    prune = actions.add_parser(
        "prune", help="drop crashes older than a retention period from the index"
    )
    _common_arguments(prune)
    prune.add_argument(
        "--older-than",
        type=days_argument,
        required=True,
        metavar="DAYS",
        help="drop crashes dated more than this many days ago (UTC), e.g. 90d",
    )
    prune.set_defaults(func=cmd_prune)

    repair = actions.add_parser(
        "repair", help="index the crashes saved while the index database was away"
    )
    _common_arguments(repair)
    add_setting_argument(repair, "report_owed")
    repair.set_defaults(func=cmd_repair)
