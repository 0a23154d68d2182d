"""The report index: the rows reports group by, kept up to date as each processed crash is saved.

Reports group 100,000 crashes by signature or by missing module in SQL over indexed columns
instead of reading every processed crash back from storage. The index lives in an SQLite file
(the embedded default: one host) or in a PostgreSQL database (``postgresql://user@host/db``:
every daemon on every host writes into it, every report and the web UI read it); the SQL here is
written once for both, what differs is in ``database.py`` and ``schema.py``.

The index is derived data: it can always be rebuilt from storage (``crashproc report
reindex``). Its schema is versioned and upgraded in place (``schema.py``). Writes are short
transactions, one per crash (a batch of crashes when rebuilding), and idempotent: a crash's rows
are replaced, because storage retries a crash whose listener failed and a crash may be
reprocessed or saved twice.

Rebuilding stamps rows with a generation: a rebuild starts a new generation, rewrites every
stored crash, then drops the rows of older generations. Crashes the daemon indexes meanwhile get
the new generation and survive; crashes gone from storage do not.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from processor.reports import counts
from processor.reports.database import Database, is_postgresql, open_database
from processor.reports.errors import (
    IndexUnavailable,
    MissingIndexError,
    ReportIndexError,
    SchemaVersionError,
)
from processor.reports.extract import IndexEntry, MissingModule, index_entry
from processor.reports.owed import OwedCrashes
from processor.reports.schema import DIMENSIONS, PAIRS, SCHEMA_VERSION, Migration, pending
from processor.storage.crashstorage import CrashStorage

__all__ = [
    "SCHEMA_VERSION",
    "IndexUnavailable",
    "MissingIndexError",
    "ReportIndex",
    "ReportIndexError",
    "SchemaVersionError",
    "attach_report_index",
    "configured_index_path",
    "recreate_index",
]

logger = logging.getLogger(__name__)

INDEX_NAME = "report-index.sqlite"
DEFAULT_INDEX_PATH = f"./var/{INDEX_NAME}"

IndexTarget = str | Path  # an SQLite file, or a postgresql:// URL


def default_index_path(storage_url: str | None = None) -> Path:
    """Where the report index of ``storage_url`` is when the configuration names none.

    Beside a local storage directory (``./var/crashes`` -> ``./var/report-index.sqlite``), so
    the daemon writing a storage and a report reading it find the same index, and a storage in
    a scratch directory keeps its index there; ``./var/report-index.sqlite`` for S3.
    """
    directory = None
    if storage_url and storage_url.startswith("file:"):
        directory = unquote(urlsplit(storage_url).path)
    elif storage_url and "://" not in storage_url:
        directory = storage_url
    if directory and directory.strip("/"):
        return Path(directory).parent / INDEX_NAME
    return Path(DEFAULT_INDEX_PATH)


def configured_index_path(report_index: IndexTarget | None, storage_url: str | None) -> IndexTarget:
    """The configured index (``reports.index``: a path or a postgresql:// URL), else the one
    beside the storage."""
    if report_index and is_postgresql(str(report_index)):
        return str(report_index)
    return Path(report_index) if report_index else default_index_path(storage_url)


class ReportIndex:
    """One report index. ``create=False`` (readers) refuses an index that does not exist.

    ``migrate``: apply the online migrations an older index needs when it is opened (the
    default; ``crashproc report migrate`` applies every one).
    """

    def __init__(self, target: IndexTarget, create: bool = True, migrate: bool = True) -> None:
        self.database: Database = open_database(target, create)
        self.create = create
        self.migrate = migrate
        self._checked = False

    @property
    def path(self) -> str:
        """Where the index is, for messages (a URL without its password)."""
        return self.database.location

    @property
    def dialect(self) -> str:
        return self.database.dialect

    # -- schema -------------------------------------------------------------------------------

    def _ready(self) -> Database:
        """The database, its schema created or checked (and upgraded) on first use."""
        if not self._checked:
            try:
                self.open_schema()
            except BaseException:
                # A refused index is not used again: its connections go now, not at exit.
                self.close()
                raise
        return self.database

    def open_schema(self, offline: bool = False) -> list[Migration]:
        """Create, check and upgrade the schema; returns the migrations applied.

        ``offline`` applies migrations that are not online too (``crashproc report migrate``).
        """
        applied: list[Migration] = []
        version = self._version()
        if version == 0 and not self.create:
            raise MissingIndexError(
                f"no report index in {self.path}: build it with `crashproc report reindex`"
            )
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"report index {self.path} has schema version {version}, newer than this "
                f"crashproc's {SCHEMA_VERSION}: upgrade crashproc (or rebuild the index with "
                "`crashproc report reindex`)"
            )
        if version < SCHEMA_VERSION:
            todo = pending(version)
            blocked = [m for m in todo if not m.online]
            if version > 0 and blocked and not offline:
                raise SchemaVersionError(
                    f"report index {self.path} has schema version {version} and needs "
                    f"migration {blocked[0].version} ({blocked[0].summary}), which is not applied "
                    "at start-up: run `crashproc report migrate`"
                )
            if version > 0 and not (self.migrate or offline):
                raise SchemaVersionError(
                    f"report index {self.path} has schema version {version}, this crashproc "
                    f"uses {SCHEMA_VERSION}: run `crashproc report migrate`"
                )
            applied = self._apply_migrations()
        self._checked = True
        return applied

    def _version(self) -> int:
        with self.database.transaction() as tx:
            return self.database.read_version(tx)

    def _apply_migrations(self) -> list[Migration]:
        database = self.database
        with database.transaction() as tx:
            database.lock_schema(tx)
            # Another process may have migrated while this one waited for the lock.
            version = database.read_version(tx)
            if version == 0 and database.holds_other_tables(tx):
                raise ReportIndexError(
                    f"{self.path} holds tables that are not a report index (or one of an "
                    "unknown version): move them away and run `crashproc report reindex`"
                )
            todo = pending(version)
            for migration in todo:
                for statement in migration.statements[database.dialect]:
                    tx.execute(statement)
            if todo:
                database.write_version(tx, todo[-1].version)
        for migration in todo:
            if version > 0:
                logger.info(
                    "report index %s: migrated to schema version %d (%s)",
                    self.path,
                    migration.version,
                    migration.summary,
                )
        return todo

    def schema_version(self) -> int:
        return self._version()

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> ReportIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def add(self, entries: Iterable[IndexEntry], wait_s: float | None = None) -> int:
        """Insert or replace the entries' crashes in one transaction; returns how many.

        Statement by statement over the whole batch (PostgreSQL pipelines each into one round
        trip). ``wait_s`` bounds the wait for a database connection."""
        entries = list(entries)
        if not entries:
            return 0
        database = self._ready()
        with database.transaction(wait_s) as tx:
            self._replace(tx, entries)
        return len(entries)

    def _replace(self, tx: Any, entries: Sequence[IndexEntry]) -> None:
        # The counts follow each crash's change: its previous row out, the new one in. Writers
        # of the same crash take turns (PostgreSQL; SQLite has one writer at a time).
        self.database.lock_crashes(tx, sorted({e.crash_id for e in entries}))
        deltas = counts.Deltas()
        crash_ids = [e.crash_id for e in entries]
        for row in counts.previous_rows(tx, crash_ids):
            deltas.add(row, -1)
        for key in counts.previous_missing(tx, crash_ids):
            deltas.missing[key] -= 1
        # An upsert keeps a known crash's id, so only its own rows below are replaced.
        ids = tx.returning_many(
            _UPSERT_CRASH,
            [
                (
                    e.crash_id,
                    e.date.isoformat(),
                    e.signature,
                    e.product,
                    e.version,
                    *e.dimension_values(),
                )
                for e in entries
            ],
        )
        # A crash twice in a batch: its last entry is its row (the last upsert), its modules
        # and its counts.
        latest = {e.crash_id: (i, e) for i, e in zip(ids, entries, strict=True)}
        for _, entry in latest.values():
            deltas.add(_row(entry), +1)
            for m in entry.missing:
                deltas.missing[counts.missing_key(entry.date.isoformat(), _missing_columns(m))] += 1
        tx.executemany(
            "DELETE FROM crash_modules WHERE crash = ?", [(i,) for i, _ in latest.values()]
        )
        tx.executemany(
            "DELETE FROM missing_symbols WHERE crash = ?", [(i,) for i, _ in latest.values()]
        )
        tx.executemany(
            "INSERT INTO crash_modules (crash, module, date) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [
                (crash, module, entry.date.isoformat())
                for crash, entry in latest.values()
                for module in entry.stack_modules
            ],
        )
        tx.executemany(
            "INSERT INTO missing_symbols (crash, date, filename, version, debug_file, "
            "debug_id, code_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (crash, entry.date.isoformat(), *_missing_columns(m))
                for crash, entry in latest.values()
                for m in entry.missing
            ],
        )
        deltas.apply(tx)

    def on_processed(self, crash_id: str, processed: dict[str, Any]) -> None:
        """Index one freshly saved processed crash."""
        self.add([index_entry(crash_id, processed)])

    def start_generation(self) -> int:
        """Begin a rebuild: rows written from now on carry the returned generation."""
        with self._ready().transaction() as tx:
            tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            return tx.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]

    def drop_older_generations(self, generation: int) -> int:
        """End a rebuild: drop crashes not rewritten since ``generation`` began; returns how many."""
        stale = "SELECT id FROM crashes WHERE generation < ?"
        with self._ready().transaction() as tx:
            counts.subtract_stale(tx, generation)
            tx.execute(f"DELETE FROM crash_modules WHERE crash IN ({stale})", (generation,))
            tx.execute(f"DELETE FROM missing_symbols WHERE crash IN ({stale})", (generation,))
            return tx.execute("DELETE FROM crashes WHERE generation < ?", (generation,)).rowcount

    def prune(
        self, before: datetime.date, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Drop the crashes dated before ``before``; returns how many.

        One day per transaction, each found through the date indexes (crashes by date, then
        their modules by crash id, missing symbols and counts by date), so the cost is the rows dropped
        and writers wait at most for one day's delete.
        """
        database = self._ready()
        cutoff = before.isoformat()
        days = [
            row[0]
            for row in database.query(
                "SELECT DISTINCT date FROM crashes WHERE date < ? ORDER BY date", (cutoff,)
            )
        ]
        dropped = 0
        for done, day in enumerate(days, 1):
            with database.transaction() as tx:
                tx.execute(
                    "DELETE FROM crash_modules WHERE crash IN "
                    "(SELECT id FROM crashes WHERE date = ?)",
                    (day,),
                )
                tx.execute("DELETE FROM missing_symbols WHERE date = ?", (day,))
                tx.execute("DELETE FROM day_counts WHERE date = ?", (day,))
                tx.execute("DELETE FROM signature_day_counts WHERE date = ?", (day,))
                tx.execute("DELETE FROM missing_symbol_day_counts WHERE date = ?", (day,))
                # By each pair's key (field, other, date, ...), not a scan of the table.
                tx.executemany(
                    "DELETE FROM pair_day_counts WHERE field = ? AND other = ? AND date = ?",
                    [(a, b, day) for a, b in PAIRS],
                )
                dropped += tx.execute("DELETE FROM crashes WHERE date = ?", (day,)).rowcount
            if progress is not None:
                progress(done, len(days))
        return dropped

    # -- reading ------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Rows of one read-only query (a consistent snapshot, even while workers write);
        each row is read by position or by column name."""
        return self._ready().query(sql, params)

    def module_equals(self, column: str, param: str) -> str:
        return self.database.module_equals(column, param)

    def crash_count(self) -> int:
        return self.query("SELECT count(*) FROM crashes")[0][0]


_CRASH_COLUMNS = ("crash_id", "date", "signature", "product", "version", *DIMENSIONS)
_UPSERT_CRASH = (
    f"INSERT INTO crashes ({', '.join(_CRASH_COLUMNS)}, generation) "
    f"VALUES ({', '.join('?' for _ in _CRASH_COLUMNS)}, "
    "(SELECT value FROM meta WHERE key = 'generation')) "
    "ON CONFLICT (crash_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_CRASH_COLUMNS[1:], "generation"))
    + " RETURNING id"
)


def _row(entry: IndexEntry) -> dict[str, Any]:
    """An entry as its crashes row (by column name)."""
    return {
        "crash_id": entry.crash_id,
        "date": entry.date.isoformat(),
        "signature": entry.signature,
        "product": entry.product,
        "version": entry.version,
        **dict(zip(DIMENSIONS, entry.dimension_values(), strict=True)),
    }


def _missing_columns(m: MissingModule) -> tuple[str | None, ...]:
    return (m.filename, m.version, m.debug_file, m.debug_id, m.code_id, m.reason)


def recreate_index(target: IndexTarget) -> None:
    """Drop the index's tables at ``target`` so the next open creates the current schema.

    For an index of an unknown version (or a damaged one), before a reindex; an SQLite file is
    kept (workers may hold it open), only its contents go.
    """
    database = open_database(target, create=True)
    try:
        database.drop_all()
    finally:
        database.close()


# How long the listener keeps trying a database that is down or restarting before it records
# the crash as owed (see IndexListener).
LISTENER_RETRY_S = 30.0


class IndexListener:
    """The storage listener: index each saved processed crash, through a database restart.

    A connection lost or refused is retried with backoff for ``retry_s`` seconds. When the
    database stays away, the crash is written to the ``owed`` journal (pending.py) and the
    save succeeds: the crash is in storage and the next run repairs its rows. Any other failure
    (an index that is not one, a schema to migrate) fails the save so the crash is retried.
    """

    def __init__(
        self, index: ReportIndex, owed: OwedCrashes | None = None, retry_s: float = LISTENER_RETRY_S
    ) -> None:
        self.index = index
        self.owed = owed
        self.retry_s = retry_s

    def __call__(self, crash_id: str, processed: dict[str, Any]) -> None:
        entry = index_entry(crash_id, processed)
        deadline = time.monotonic() + self.retry_s
        delay = 0.1
        while True:
            try:
                self.index.add([entry], wait_s=max(0.5, deadline - time.monotonic()))
                return
            except IndexUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    if self.owed is None:
                        raise
                    self.owed.record(crash_id)
                    logger.error(
                        "crash %s: report index unavailable (%s): recorded for repair",
                        crash_id,
                        exc,
                    )
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


def attach_report_index(
    storage: CrashStorage,
    target: IndexTarget,
    owed: OwedCrashes | Path | None = None,
    repair: bool = True,
    retry_s: float = LISTENER_RETRY_S,
) -> ReportIndex:
    """Keep the index at ``target`` up to date with every processed crash ``storage`` saves.

    ``owed`` (an ``OwedCrashes``) records crashes whose index write failed while the database
    was away (after ``retry_s`` seconds of retries); with ``repair`` the ones recorded by an
    earlier run are indexed now. The
    returned index is the listener's; close it with the storage.
    """
    index = ReportIndex(target)
    if isinstance(owed, Path):
        owed = OwedCrashes(owed)
    storage.processed_listeners.append(IndexListener(index, owed, retry_s))
    if owed is not None and repair:
        owed.repair(storage, index)
    return index


def day(value: datetime.date | None) -> str | None:
    """A date as the index stores it (None stays None: an open end)."""
    return value.isoformat() if value is not None else None
