"""``crashproc queue``: look at the queues and their dead letters, retry dead letters, and
queue again the stored crashes no queue holds (``reconcile``, also ``requeue-stored``).

A dead-lettered crash is stored but unprocessed until someone looks at why and retries it
(after a fix, or once the storage is back); these commands are that someone's tools. A crash
a queue lost, or one a collector stored while its queue was down, is found by ``reconcile``
(see processor/service/reconcile.py), which the daemon also runs at start and periodically.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import TextIO

from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_queue_argument,
    add_storage_argument,
    error,
    settings_from_args,
)
from processor.cli.reprocess import parse_date
from processor.config import ConfigError
from processor.queues import QUEUE_NAMES, CrashQueue, QueueError
from processor.service.reconcile import reconcile
from processor.service.wiring import open_settings_queue, open_settings_storage
from processor.storage import StorageError


def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.isoformat(timespec="seconds")


def cmd_status(queue: CrashQueue, args: argparse.Namespace, out: TextIO) -> int:
    depths = queue.depths()
    for name in QUEUE_NAMES:
        print(f"{name}\t{depths[name]}", file=out)
    print(f"dead letters\t{queue.dead_letter_count()}", file=out)
    return EXIT_OK


def cmd_dead(queue: CrashQueue, args: argparse.Namespace, out: TextIO) -> int:
    """One dead letter per line: job id, queue, crash id, ruleset, attempts, when, why."""
    for letter in queue.dead_letters():
        print(
            "\t".join(
                [
                    letter.job_id,
                    letter.queue,
                    letter.crash_id,
                    letter.ruleset,
                    str(letter.attempts),
                    _iso(letter.dead_at),
                    letter.error,
                ]
            ),
            file=out,
        )
    return EXIT_OK


def cmd_retry(queue: CrashQueue, args: argparse.Namespace, out: TextIO) -> int:
    if bool(args.job_ids) == args.all:
        error("give dead-letter job ids or --all (not both)")
        return EXIT_USAGE
    wanted = None if args.all else list(args.job_ids)
    count = queue.requeue_dead_letters(wanted)
    print(f"requeued {count} dead-lettered crash(es)", file=out)
    if wanted is not None and count < len(set(wanted)):
        error(f"{len(set(wanted)) - count} job id(s) were not in the dead-letter list")
        return EXIT_FAILED
    return EXIT_OK


def cmd_reconcile(queue: CrashQueue, args: argparse.Namespace, out: TextIO) -> int:
    """Queue again the stored crashes that are unprocessed and in no queue; print their ids."""
    storage = open_settings_storage(args.settings, processed=False)
    try:
        result = reconcile(storage, queue, args.since, dry_run=args.dry_run)
    finally:
        storage.close()
    for crash_id in result.requeued:
        print(crash_id, file=out)
    verb = "would queue" if args.dry_run else "queued"
    print(
        f"crashproc: checked {result.checked} stored crash(es): {result.processed} processed, "
        f"{result.queued} queued or dead-lettered; {verb} {len(result.requeued)} again",
        file=sys.stderr,
    )
    return EXIT_OK


ACTIONS = {
    "status": cmd_status,
    "dead": cmd_dead,
    "retry": cmd_retry,
    "requeue-stored": cmd_reconcile,
    "reconcile": cmd_reconcile,
}


def cmd_queue(args: argparse.Namespace, out: TextIO) -> int:
    try:
        settings = settings_from_args(args)
        queue = open_settings_queue(settings)
    except (ConfigError, QueueError) as exc:
        error(str(exc))
        return EXIT_USAGE
    args.settings = settings
    try:
        return ACTIONS[args.action](queue, args, out)
    except (QueueError, StorageError) as exc:
        error(str(exc))
        return EXIT_FAILED
    finally:
        queue.close()


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("queue", help="queue depths, dead letters, and retrying them")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="crashes waiting per queue, and dead letters")
    dead = actions.add_parser("dead", help="list dead-lettered crashes with their last error")
    retry = actions.add_parser("retry", help="put dead-lettered crashes back on their queues")
    retry.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="as listed by 'dead'")
    retry.add_argument("--all", action="store_true", help="every dead-lettered crash")
    again = actions.add_parser(
        "reconcile",
        aliases=["requeue-stored"],
        help="queue again the stored crashes that are unprocessed and in no queue (lost by a "
        "queue); prints their ids",
    )
    again.add_argument(
        "--since", type=parse_date, metavar="DATE", help="only crashes dated DATE or later"
    )
    again.add_argument(
        "--dry-run", action="store_true", help="print the crashes without queueing them"
    )
    add_storage_argument(again)
    for action in (status, dead, retry, again):
        add_queue_argument(action)
        action.set_defaults(func=cmd_queue)
