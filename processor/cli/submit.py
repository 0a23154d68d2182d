"""``crashproc submit DIR...``: store crash directories and queue them, as a collector would.

Crashes are stored first and queued in batches; the ids are printed (one per line, stdout)
only once queued, so the output lists exactly the crashes that will be processed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_queue_argument,
    add_storage_argument,
    error,
    settings_from_args,
)
from processor.config import ConfigError, Settings
from processor.crashdir import CrashInputError, load_crash_dir
from processor.errors import traceback_without_message
from processor.queues import PRIORITY, STANDARD, QueueError
from processor.service.wiring import open_settings_queue, open_settings_storage
from processor.storage import CrashStorage, StorageError, stored_outputs

logger = logging.getLogger("crashproc")

PUBLISH_BATCH = 50


def add_collector_notes(raw_crash: dict[str, Any], notes: list[str]) -> None:
    """Keep the loader's notes where a collector keeps its own: ``metadata.collector_notes``."""
    if not notes:
        return
    metadata = raw_crash.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return  # the processor notes the broken metadata block itself
    existing = metadata.get("collector_notes")
    metadata["collector_notes"] = [*(existing if isinstance(existing, list) else []), *notes]


def store_one(storage: CrashStorage, directory: str, settings: Settings) -> str | None:
    """Store one crash directory; its crash id, or None when it was reported as failed (the
    other directories go on whatever went wrong with this one)."""
    try:
        crash = load_crash_dir(directory, settings.max_raw_crash_size, settings.max_dump_size)
        add_collector_notes(crash.raw_crash, crash.notes)
        storage.save_raw_crash(
            crash.crash_id,
            crash.raw_crash,
            crash.dumps,
            stored_outputs(crash.dumps.items()),
            max_file_size=settings.max_dump_size,
        )
    except CrashInputError as exc:
        error(str(exc))
    except StorageError as exc:
        error(f"{directory}: cannot store: {exc}")
    except OSError as exc:
        error(f"{directory}: cannot store: {exc.__class__.__name__}: {exc.strerror}")
    except Exception as exc:
        # A bug must not cost the rest of the batch; the message may hold crash data.
        logger.error("storing %s failed\n%s", directory, traceback_without_message(exc))
        error(f"{directory}: unexpected {exc.__class__.__name__} while storing")
    else:
        return crash.crash_id
    return None


def cmd_submit(args: argparse.Namespace, out: TextIO) -> int:
    try:
        settings = settings_from_args(args)
        storage = open_settings_storage(settings, processed=False)
        queue = open_settings_queue(settings)
    except (ConfigError, StorageError, QueueError) as exc:
        error(str(exc))
        return EXIT_USAGE
    queue_name = PRIORITY if args.priority else STANDARD
    status = EXIT_OK
    batch: list[str] = []
    submitted = 0

    def flush() -> bool:
        nonlocal submitted
        if not batch:
            return True
        try:
            queue.publish(queue_name, batch)
        except QueueError as exc:
            error(f"{exc}; stored but not queued: {' '.join(batch)}")
            batch.clear()  # named once; `crashproc queue reconcile` queues them later
            return False
        for crash_id in batch:
            print(crash_id, file=out)
        out.flush()
        submitted += len(batch)
        batch.clear()
        return True

    try:
        for directory in args.dirs:
            crash_id = store_one(storage, directory, settings)
            if crash_id is None:
                status = EXIT_FAILED
                continue
            batch.append(crash_id)
            if len(batch) >= PUBLISH_BATCH and not flush():
                return EXIT_FAILED
    finally:
        # Whatever stopped the loop, what is stored gets queued (or named as not queued).
        if not flush():
            status = EXIT_FAILED
    print(f"crashproc: submitted {submitted} crash(es) to the {queue_name} queue", file=sys.stderr)
    queue.close()
    storage.close()
    return status


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "submit", help="store crash directories and queue them for the daemon"
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="crash directories")
    add_storage_argument(parser)
    add_queue_argument(parser)
    parser.add_argument(
        "--priority", action="store_true", help="queue on the priority queue (default: standard)"
    )
    parser.set_defaults(func=cmd_submit)
