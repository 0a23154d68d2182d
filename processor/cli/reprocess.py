"""``crashproc reprocess`` (also ``reprocess-crash``): run a ruleset again over stored crashes.

Crash ids come from arguments, ``--file`` or stdin (``-``), one per line (the first word of a
line, so ``crashproc submit`` output can be piped in), or from storage by date (``--since``,
``--until``) or ``--all``. Inline (the default) each crash is reprocessed here and saved; with
``--queue`` the ids go to the reprocessing queue for the daemon; ``--preview`` shows the
original and the new signature, and how many modules would lose or gain symbols, without saving
anything.

Reprocessing must not make a crash worse by accident: before anything is reprocessed or queued,
each stored crash's ``processed_with`` record (see processor.resources.provenance) is compared with this
command's configuration, which the daemon shares. A symbol source recorded then but not
configured now, or another stackwalker backend, refuses the whole run unless ``--force``.

Exit status: 0 when every crash was reprocessed (or queued), 1 when any was not, 2 for usage
or configuration errors, and for a run refused because it would lose symbols or the stackwalker.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from crashproc.progress import progress_bar
from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_pipeline_arguments,
    add_queue_argument,
    add_ruleset_argument,
    add_storage_argument,
    error,
    settings_from_args,
)
from processor.config import ConfigError, Settings
from processor.crashid import crash_id_problem
from processor.errors import traceback_without_message
from processor.queues import REPROCESSING, QueueError
from processor.resources.provenance import (
    baseline,
    configured_backend,
    losses,
    modules_with_symbols,
    symbol_sources,
)
from processor.rulesets import RulesetError, load_rulesets
from processor.service.job import PermanentFailure, run_job
from processor.service.wiring import open_settings_queue, open_settings_storage
from processor.storage import CorruptCrashData, CrashNotFound, CrashStorage, StorageError

logger = logging.getLogger("crashproc.reprocess")

PUBLISH_BATCH = 500
NOT_PROCESSED = "(not processed)"
# --queue without a URL: the configured queue.
CONFIGURED_QUEUE = ""


def parse_date(text: str) -> datetime.date:
    for form in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text[:40]!r}")


def ids_from_lines(lines: Iterable[str]) -> Iterator[str]:
    """The first word of each line; blank lines and ``#`` comments are skipped."""
    for line in lines:
        words = line.split()
        if words and not words[0].startswith("#"):
            yield words[0]


def gather_ids(args: argparse.Namespace, storage: CrashStorage | None, stdin: TextIO) -> list[str]:
    """Every requested id once, in the order given; storage listings come last."""
    found: list[str] = []
    for item in args.crash_ids:
        if item == "-":
            found.extend(ids_from_lines(stdin))
        else:
            found.append(item)
    for path in args.files:
        with open(path, encoding="utf-8", errors="replace") as fp:
            found.extend(ids_from_lines(fp))
    if storage is not None and (args.all or args.since or args.until):
        found.extend(storage.list_crash_ids(args.since, args.until))
    return list(dict.fromkeys(found))


def split_valid(ids: list[str]) -> tuple[list[str], list[str]]:
    valid, problems = [], []
    for crash_id in ids:
        problem = crash_id_problem(crash_id)
        if problem:
            problems.append(problem)
        else:
            valid.append(crash_id)
    return valid, problems


def stored_processed(storage: CrashStorage, crash_id: str) -> dict[str, Any] | None:
    try:
        return storage.load_processed_crash(crash_id)
    except (CrashNotFound, StorageError):
        return None


def signature_of(processed: dict[str, Any] | None) -> str:
    signature = (processed or {}).get("signature")
    return signature if isinstance(signature, str) else NOT_PROCESSED


def what_would_be_lost(
    settings: Settings, storage: CrashStorage, ids: list[str]
) -> dict[str, list[str]]:
    """For each stored crash that this configuration would make worse, what it lacks.

    A crash without a readable processed crash has nothing to lose; a storage that cannot be
    read raises StorageError (the check must not be skipped silently).
    """
    backend, sources = configured_backend(settings), symbol_sources(settings)
    found = {}
    for crash_id in ids:
        try:
            processed = storage.load_processed_crash(crash_id)
        except (CrashNotFound, CorruptCrashData):
            continue
        if lost := losses(baseline(processed), backend, sources):
            found[crash_id] = lost
    return found


def refusal(lost: dict[str, list[str]], total: int, outcome: str) -> str:
    """One message for the whole run: what is missing, for how many crashes, and the way out."""
    counts = Counter(item for items in lost.values() for item in items)
    lines = [
        f"reprocessing {len(lost)} of {total} crash(es) would lose what they were processed "
        "with; this configuration lacks:"
    ]
    lines += [f"  {item} ({count} crash(es))" for item, count in counts.most_common()]
    lines.append(
        "configure them (symbols.paths, symbols.urls, stackwalker.mode in crashproc.toml, or "
        f"--symbols-path, --symbols-url, --stackwalker) or give --force to reprocess anyway; "
        f"{outcome}"
    )
    return "\n".join(lines)


@dataclass
class SymbolChanges:
    """Modules whose symbols a reprocessing lost or gained, over a run."""

    lost_modules: int = 0
    gained_modules: int = 0
    crashes_losing: int = 0
    crashes_gaining: int = 0

    def add(self, before: dict[str, Any] | None, after: dict[str, Any]) -> tuple[int, int]:
        """Count one crash; returns its (lost, gained) module counts."""
        had = modules_with_symbols(before or {})
        has = modules_with_symbols(after)
        lost, gained = len(had - has), len(has - had)
        self.lost_modules += lost
        self.gained_modules += gained
        self.crashes_losing += lost > 0
        self.crashes_gaining += gained > 0
        return lost, gained

    def summary(self) -> str:
        return (
            f"modules with symbols: {self.lost_modules} lost in {self.crashes_losing} crash(es), "
            f"{self.gained_modules} gained in {self.crashes_gaining} crash(es)"
        )


def reprocess_inline(
    settings: Settings,
    storage: CrashStorage,
    ids: list[str],
    ruleset: str,
    preview: bool,
    out: TextIO,
    symbols: SymbolChanges,
) -> tuple[int, int, int]:
    """Reprocess here; returns (done, with a changed signature, failed); ``symbols`` counts
    the modules that lost or gained symbols."""
    from processor.observability.setup import setup_observability
    from processor.runner import CrashProcessor

    processor = CrashProcessor(settings, error_reporter=setup_observability(settings))
    done = changed = failed = 0
    progress = progress_bar(len(ids), "reprocessing", unit="crash")
    try:
        for crash_id in ids:
            stored = stored_processed(storage, crash_id)
            before = signature_of(stored)
            try:
                result = run_job(
                    storage, processor, crash_id, ruleset, use_previous=True, save=not preview
                )
            except PermanentFailure as exc:
                error(f"crash {crash_id}: {exc}")
                failed += 1
            except Exception as exc:
                logger.error(
                    "crash %s: reprocessing failed\n%s", crash_id, traceback_without_message(exc)
                )
                error(f"crash {crash_id}: unexpected {exc.__class__.__name__} while reprocessing")
                failed += 1
            else:
                done += 1
                after = result.processed.get("signature", "")
                changed += after != before
                lost, gained = symbols.add(stored, result.processed)
                if preview:
                    verdict = "same" if after == before else "different"
                    print(
                        f"{crash_id}\t{before}\t{after}\t{verdict}\t"
                        f"modules with symbols: {lost} lost, {gained} gained",
                        file=out,
                    )
                    out.flush()
            progress.update()
    finally:
        progress.close()
        processor.close()
    return done, changed, failed


def queue_for_reprocessing(settings: Settings, ids: list[str], ruleset: str) -> int:
    queue = open_settings_queue(settings)
    queued = 0
    progress = progress_bar(len(ids), "queueing", unit="crash")
    try:
        for start in range(0, len(ids), PUBLISH_BATCH):
            batch = ids[start : start + PUBLISH_BATCH]
            queued += queue.publish(REPROCESSING, batch, ruleset=ruleset)
            progress.update(len(batch))
    finally:
        progress.close()
        queue.close()
    return queued


def cmd_reprocess(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    to_queue = args.queue is not None
    if args.queue and crash_id_problem(args.queue) is None:
        error(
            f"--queue {args.queue} looks like a crash id: write --queue=URL, or --queue after "
            "the crash ids"
        )
        return EXIT_USAGE
    if to_queue and args.preview:
        error("--preview reprocesses here; it cannot be combined with --queue")
        return EXIT_USAGE
    if not (args.crash_ids or args.files or args.all or args.since or args.until):
        error("no crashes given: crash ids, --file, -, --since/--until or --all")
        return EXIT_USAGE
    try:
        settings = settings_from_args(args)
        settings.check_resources()  # the daemon reprocessing queued crashes reads them too
        rulesets = load_rulesets(settings)
        if args.ruleset not in rulesets:
            raise RulesetError(
                f"unknown ruleset {args.ruleset!r}; known: {', '.join(sorted(rulesets))}"
            )
        guarded = not args.force and rulesets[args.ruleset].walks
        needs_storage = not to_queue or args.all or args.since or args.until or guarded
        storage = open_settings_storage(settings) if needs_storage else None
    except (ConfigError, RulesetError, StorageError) as exc:
        error(str(exc))
        return EXIT_USAGE

    try:
        ids, problems = split_valid(gather_ids(args, storage, stdin))
    except OSError as exc:
        error(f"cannot read crash ids: {exc.__class__.__name__}: {exc.strerror}")
        return EXIT_USAGE
    except StorageError as exc:
        error(f"cannot list crashes: {exc}")
        return EXIT_FAILED
    for problem in problems:
        error(problem)

    if guarded:
        assert storage is not None
        try:
            lost = what_would_be_lost(settings, storage, ids)
        except StorageError as exc:
            error(f"cannot read the stored crashes: {exc}")
            return EXIT_FAILED
        if lost and args.preview:
            warning = refusal(lost, len(ids), "without it, reprocessing would be refused")
            print(f"crashproc: warning: {warning}", file=sys.stderr)
        elif lost:
            error(refusal(lost, len(ids), "nothing was reprocessed or queued"))
            return EXIT_USAGE

    try:
        if to_queue:
            queued = queue_for_reprocessing(settings, ids, args.ruleset)
            print(
                f"crashproc: queued {queued} crash(es) for reprocessing with {args.ruleset}",
                file=sys.stderr,
            )
            failed = 0
        else:
            assert storage is not None
            symbols = SymbolChanges()
            done, changed, failed = reprocess_inline(
                settings, storage, ids, args.ruleset, args.preview, out, symbols
            )
            verb = "previewed" if args.preview else "reprocessed"
            print(
                f"crashproc: {verb} {done} crash(es) with {args.ruleset}: {changed} with a "
                f"different signature, {failed} failed; {symbols.summary()}",
                file=sys.stderr,
            )
    except (ConfigError, RulesetError, QueueError) as exc:
        error(str(exc))
        return EXIT_USAGE
    return EXIT_FAILED if failed or problems else EXIT_OK


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reprocess", help="run a ruleset again over stored crashes (inline or via the queue)"
    )
    parser.add_argument(
        "crash_ids", nargs="*", metavar="CRASH_ID", help="crash ids; - reads them from stdin"
    )
    parser.add_argument(
        "--file",
        dest="files",
        action="append",
        default=[],
        metavar="PATH",
        help="file of crash ids, one per line (repeatable)",
    )
    parser.add_argument("--since", type=parse_date, metavar="DATE", help="stored crashes from DATE")
    parser.add_argument("--until", type=parse_date, metavar="DATE", help="stored crashes to DATE")
    parser.add_argument("--all", action="store_true", help="every stored crash")
    add_ruleset_argument(parser)
    parser.add_argument(
        "--preview",
        action="store_true",
        help="print crash id, original and new signature, same/different, and how many modules "
        "lose or gain symbols; save nothing",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="reprocess even crashes that were processed with a symbol source or stackwalker "
        "this configuration lacks (they may lose symbols)",
    )
    add_storage_argument(parser)
    add_queue_argument(
        parser,
        nargs="?",
        const=CONFIGURED_QUEUE,
        default=None,
        help="queue the crashes on the reprocessing queue of URL (default: CRASHPROC_QUEUE) "
        "instead of reprocessing them here",
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(func=cmd_reprocess)
