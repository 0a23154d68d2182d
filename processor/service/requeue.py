"""Queue the stored crashes that never reached a queue, so no accepted crash is stranded.

The collector stores a report before it answers and queues it after; when the queue is
down (or the collector is killed in between) the crash is stored but not queued. Every
publish is followed by a ``queued`` mark in storage, so the stored crashes without a mark and
without a processed crash are exactly the stranded ones. ``crashproc queue requeue-stored``
and the daemon at start queue them. A crash queued twice is processed twice with the same
result (processing is idempotent), which is why marking after publishing is safe.
"""

from __future__ import annotations

import datetime
import logging

from processor.queues import STANDARD, CrashQueue
from processor.storage import CrashStorage

logger = logging.getLogger("crashproc.requeue")

DEFAULT_DAYS = 7
BATCH = 100


def stranded_crash_ids(
    storage: CrashStorage, since: datetime.date, until: datetime.date | None = None
) -> list[str]:
    """Stored crashes (dated ``since``..``until``) neither queued nor processed."""
    return [
        crash_id
        for crash_id in storage.list_crash_ids(since, until)
        if not storage.is_queued(crash_id) and not storage.has_processed_crash(crash_id)
    ]


def requeue_stored(
    storage: CrashStorage,
    queue: CrashQueue,
    days: int = DEFAULT_DAYS,
    today: datetime.date | None = None,
) -> list[str]:
    """Publish the stranded crashes of the last ``days`` days to the standard queue; their
    ids."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    since = today - datetime.timedelta(days=days)
    stranded = stranded_crash_ids(storage, since)
    for start in range(0, len(stranded), BATCH):
        batch = stranded[start : start + BATCH]
        queue.publish(STANDARD, batch)
        for crash_id in batch:
            storage.mark_queued(crash_id)
    if stranded:
        logger.info("queued %d stored crash(es) that had not been queued", len(stranded))
    return stranded
