"""Process one stored crash and save the result: the unit of work of the daemon and reprocess.

Idempotence: a crash can be delivered more than once (a worker killed after saving but before
acking). A job therefore first asks whether its work is already done: the stored processed
crash was completed after the job was queued. If so it only makes sure the rest of the save
(public copy, listeners) happened, so the stored result is the one of the first run. New
crashes (standard and priority queues) are processed from nothing, never from a half-saved
earlier attempt; only reprocessing starts from the stored processed crash.

Errors are sorted for the queue: a PermanentFailure (the crash is not in storage, its raw crash
is corrupt, the ruleset is unknown) will fail the same way every time and goes straight to the
dead-letter list; anything else is worth a retry. Their texts never quote crash data.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from processor.crashid import InvalidCrashId, validate_crash_id
from processor.pipeline import UnknownRuleset
from processor.runner import CrashProcessor
from processor.storage import CorruptCrashData, CrashNotFound, CrashStorage

logger = logging.getLogger(__name__)

PROCESSED, ALREADY_DONE = "processed", "already done"


class PermanentFailure(Exception):
    """Retrying cannot help; the message is safe to store and log (no crash data)."""


@dataclass(frozen=True)
class JobResult:
    crash_id: str
    outcome: str  # PROCESSED or ALREADY_DONE
    processed: dict[str, Any]


def completed_at(processed: dict[str, Any]) -> float | None:
    """When the processed crash was completed (epoch seconds), or None if unknown."""
    value = processed.get("completed_datetime")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def load_previous(storage: CrashStorage, crash_id: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The stored processed crash (None if absent), with a note when it cannot be read."""
    try:
        return storage.load_processed_crash(crash_id), []
    except CrashNotFound:
        return None, []
    except CorruptCrashData:
        return None, ["previous processed crash unreadable; processed from the raw crash alone"]


def run_job(
    storage: CrashStorage,
    processor: CrashProcessor,
    crash_id: str,
    ruleset: str = "default",
    *,
    use_previous: bool,
    enqueued_at: float | None = None,
    save: bool = True,
) -> JobResult:
    """Process ``crash_id`` from ``storage`` with ``ruleset`` and save the result.

    ``use_previous``: start from the stored processed crash (reprocessing). ``enqueued_at``:
    when the job was queued, for the already-done check (None: always process). ``save``:
    False computes the result without storing it (previews).
    """
    try:
        validate_crash_id(crash_id)
        processor.check_ruleset(ruleset)
    except InvalidCrashId:
        raise PermanentFailure("invalid crash id") from None
    except UnknownRuleset:
        raise PermanentFailure(f"unknown ruleset {ruleset[:64]!r}") from None

    previous, notes = load_previous(storage, crash_id)
    if previous is not None and enqueued_at is not None and save:
        done = completed_at(previous)
        if done is not None and done >= enqueued_at:
            storage.save_public_copy(crash_id, previous)
            storage.notify_listeners(crash_id, previous)
            return JobResult(crash_id, ALREADY_DONE, previous)

    with processor.scratch.crash_directory(crash_id) as tmpdir:
        try:
            crash = storage.load_crash(crash_id, tmpdir)
        except CrashNotFound:
            raise PermanentFailure("raw crash not found in storage") from None
        except CorruptCrashData:
            raise PermanentFailure("stored raw crash or dump list is corrupt") from None
        crash.notes = [*notes, *crash.notes]
        # One directory per crash: the dumps and the rules' files (dump names have no dot, so
        # they never meet a rule's raw_crash.json or a stored {dump}.json).
        processed, encoded = processor.process_for_storage(
            crash, ruleset, previous if use_previous else None, tmpdir=tmpdir
        )
    if save:
        storage.save_processed_crash(crash_id, processed, encoded)
    return JobResult(crash_id, PROCESSED, processed)


def failure_text(phase: str, exc: BaseException) -> str:
    """What to record about a failed attempt: our own words, or the exception class only."""
    if isinstance(exc, PermanentFailure):
        return str(exc)
    return f"{phase}: {type(exc).__qualname__}"
