"""Queue again the stored crashes a queue lost: raw crash stored, never processed, queued nowhere.

Storage is the record of what was submitted; a queue is only the list of what is still to do.
When a queue forgets (a Redis restarted without persistence, a queue database restored from
an old copy) or never heard of a crash (a collector or submit that stored it while the queue
was down, or was killed in between), the crash stays stored and nobody ever processes it. A
reconcile compares the two and queues the difference on the standard queue: ``crashproc queue
reconcile`` (also spelt ``requeue-stored``), and the daemon at start and periodically.

A crash being submitted right now (stored, not yet queued) can be queued twice by a reconcile
that runs between the two steps: harmless, since the second delivery finds the work done (see
processor/service/job.py). Dead-lettered crashes count as queued: they wait for an operator.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from processor.metrics import METRICS
from processor.queues import STANDARD, CrashQueue
from processor.storage import CrashStorage

logger = logging.getLogger("crashproc.reconcile")

PUBLISH_BATCH = 100


@dataclass
class ReconcileResult:
    """What one reconcile saw and did."""

    checked: int = 0
    processed: int = 0
    queued: int = 0
    requeued: list[str] = field(default_factory=list)


def reconcile(
    storage: CrashStorage,
    queue: CrashQueue,
    since: datetime.date | None = None,
    *,
    dry_run: bool = False,
) -> ReconcileResult:
    """Queue on the standard queue every crash dated ``since`` or later (all when None) that
    has a raw crash but no processed crash and is in no queue or dead-letter list."""
    held = queue.crash_ids()
    result = ReconcileResult()
    batch: list[str] = []

    def flush() -> None:
        if batch and not dry_run:
            queue.publish(STANDARD, batch)
            METRICS.incr("processor.queue.reconciled", len(batch))
        result.requeued.extend(batch)
        batch.clear()

    for crash_id in storage.list_crash_ids(since=since):
        result.checked += 1
        if crash_id in held:
            result.queued += 1
            continue
        if storage.has_processed_crash(crash_id):
            result.processed += 1
            continue
        batch.append(crash_id)
        if len(batch) >= PUBLISH_BATCH:
            flush()
    flush()
    if result.requeued and not dry_run:
        logger.error(
            "reconcile: %d stored crash(es) were unprocessed and in no queue (lost by the "
            "queue); queued them again on the %s queue",
            len(result.requeued),
            STANDARD,
        )
    return result


def days_back(days: int, today: datetime.date | None = None) -> datetime.date:
    """The first date of the last ``days`` days, today included (UTC)."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    return today - datetime.timedelta(days=max(1, days) - 1)
