"""Rebuild the report index from crash storage: after an outage, a schema change or a new index.

Crashes are read back one by one (only their processed crash) and written in batches, so a
rebuild of a large storage neither holds every crash in memory nor the write lock for long:
daemon workers keep indexing between batches. A crash without a processed crash is counted,
not an error; an unreadable one is counted and named in the log by its id (never its content).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from processor.reports.extract import IndexEntry, index_entry
from processor.reports.index import (
    IndexUnavailable,
    ReportIndex,
    ReportIndexError,
    SchemaVersionError,
    recreate_index,
)
from processor.storage.crashstorage import CorruptCrashData, CrashNotFound, CrashStorage

logger = logging.getLogger(__name__)

BATCH = 500
# Called with (crashes done, crashes in storage).
Progress = Callable[[int, int], None]


@dataclass
class ReindexResult:
    indexed: int = 0
    not_processed: int = 0
    unreadable: int = 0
    dropped: int = 0  # index rows whose crash is no longer in storage


def reindex(
    storage: CrashStorage, index: ReportIndex, progress: Progress | None = None
) -> ReindexResult:
    """Rewrite every stored processed crash into ``index`` and drop rows storage lacks.

    An older index is migrated first; one that cannot be (newer than this crashproc, damaged)
    is recreated: a rebuild is what it needs.
    """
    try:
        index.open_schema(offline=True)
    except (SchemaVersionError, ReportIndexError) as exc:
        if isinstance(exc, IndexUnavailable):
            raise
        index.close()
        logger.warning("report index %s cannot be migrated: recreating it (%s)", index.path, exc)
        recreate_index(index.database.target)
        index.open_schema(offline=True)
    generation = index.start_generation()
    crash_ids = list(storage.list_crash_ids())
    result = ReindexResult()
    batch: list[IndexEntry] = []
    for done, crash_id in enumerate(crash_ids, 1):
        try:
            processed = storage.load_processed_crash(crash_id)
        except CrashNotFound:
            result.not_processed += 1
        except CorruptCrashData:
            logger.warning("reindex: crash %s: processed crash is unreadable", crash_id)
            result.unreadable += 1
        else:
            batch.append(index_entry(crash_id, processed))
        if len(batch) >= BATCH:
            result.indexed += index.add(batch)
            batch = []
        if progress is not None:
            progress(done, len(crash_ids))
    result.indexed += index.add(batch)
    result.dropped = index.drop_older_generations(generation)
    return result
