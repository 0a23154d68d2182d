"""Crashes whose index rows are owed: saved to storage while the index database was away.

The storage listener retries a database that is down or restarting; when it stays away, the
crash id is recorded here and the save succeeds (the crash is safely in storage, and failing
the save would reprocess it and, past the retries, dead-letter a crash that was processed
fine). The next run of the daemon (or ``crashproc report repair``) reads each recorded crash
back from storage and indexes it, so a crash is never silently missing from the reports.

The record is a directory of empty files named by crash id, on the host that saved the crash:
creating and removing a file are atomic and need no lock between worker processes, and a crash
recorded twice is one file. A host that never runs again leaves its record behind; a reindex
from storage covers that case.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from processor.crashid import crash_id_problem
from processor.reports.errors import IndexUnavailable
from processor.reports.extract import IndexEntry, index_entry
from processor.storage.crashstorage import CorruptCrashData, CrashNotFound, CrashStorage


class Index(Protocol):
    """What repairing needs of a ReportIndex (which imports this module)."""

    def add(self, entries: Iterable[IndexEntry]) -> int: ...


logger = logging.getLogger(__name__)

DEFAULT_OWED_DIR = "./var/report-index-owed"


class OwedCrashes:
    """The record in ``directory`` (created on first use)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def record(self, crash_id: str) -> None:
        if crash_id_problem(crash_id) is not None:
            raise ValueError(f"not a crash id: {crash_id[:60]!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        # Written then renamed: a crash id is in the record whole or not at all.
        temporary = self.directory / f".{crash_id}.{os.getpid()}"
        temporary.touch()
        temporary.replace(self.directory / crash_id)

    def crash_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if crash_id_problem(p.name) is None)

    def repair(self, storage: CrashStorage, index: Index) -> int:
        """Index every recorded crash from storage; returns how many. Stops (keeping the rest
        recorded) when the database is still away."""
        repaired = 0
        for crash_id in self.crash_ids():
            try:
                processed = storage.load_processed_crash(crash_id)
            except (CrashNotFound, CorruptCrashData) as exc:
                # Nothing to index: a reindex would skip it too.
                logger.warning("owed index rows of crash %s: %s", crash_id, exc.__class__.__name__)
            else:
                try:
                    index.add([index_entry(crash_id, processed)])
                except IndexUnavailable as exc:
                    logger.warning("report index still unavailable, repair later: %s", exc)
                    return repaired
                repaired += 1
            (self.directory / crash_id).unlink(missing_ok=True)
        if repaired:
            logger.info("report index: indexed %d crashes recorded as owed", repaired)
        return repaired
