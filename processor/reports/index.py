"""The report index: an SQLite file the processor updates as it saves each processed crash.

Reports group 100,000 crashes by signature or by missing module in SQL over indexed columns
instead of reading every processed crash back from storage. The index is derived data: it can
always be rebuilt from storage (``crashproc report reindex``), so its schema has a version and
an index of another version is refused with that advice rather than misread.

Several daemon workers (separate processes) write while reports read, hence WAL mode (readers
never block the writer), a busy timeout (writers queue instead of failing) and short
``BEGIN IMMEDIATE`` transactions, one per crash. A connection belongs to the process that opened
it; after a fork the child opens its own. Writes are idempotent (a crash's rows are replaced),
because storage retries a crash whose listener failed.

Rebuilding stamps rows with a generation: a rebuild starts a new generation, rewrites every
stored crash, then drops the rows of older generations. Crashes the daemon indexes meanwhile get
the new generation and survive; crashes gone from storage do not.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from processor.reports.extract import IndexEntry, index_entry
from processor.storage.crashstorage import CrashStorage

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
MIN_SQLITE = (3, 35)
# Page cache per connection: the indexes of 100,000 crashes stay mostly in memory.
CACHE_KIB = 32 * 1024
INDEX_NAME = "report-index.sqlite"
DEFAULT_INDEX_PATH = f"./var/{INDEX_NAME}"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('generation', 1);
-- A crash's rows elsewhere refer to it by its small integer id, not its 36-character crash
-- id: crash_modules holds a dozen rows per crash and is most of the file.
CREATE TABLE crashes (
    id INTEGER PRIMARY KEY,
    crash_id TEXT NOT NULL UNIQUE,
    date TEXT NOT NULL,             -- YYYY-MM-DD (UTC)
    signature TEXT,
    product TEXT,
    version TEXT,
    generation INTEGER NOT NULL     -- scanned only when a rebuild ends: no index
);
CREATE INDEX crashes_date_signature ON crashes (date, signature);
-- Modules on the crashing stack, one row per crash and module (matched without case).
CREATE TABLE crash_modules (
    crash INTEGER NOT NULL,         -- crashes.id
    module TEXT NOT NULL COLLATE NOCASE,
    date TEXT NOT NULL,
    PRIMARY KEY (crash, module)
) WITHOUT ROWID;
CREATE INDEX crash_modules_module_date ON crash_modules (module, date);
-- Modules without symbols, one row per crash and module.
CREATE TABLE missing_symbols (
    crash INTEGER NOT NULL,         -- crashes.id
    date TEXT NOT NULL,
    filename TEXT,
    version TEXT,
    debug_file TEXT,
    debug_id TEXT,
    code_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX missing_symbols_crash ON missing_symbols (crash);
CREATE INDEX missing_symbols_date ON missing_symbols (date);
"""
TABLES = ("crash_modules", "missing_symbols", "crashes", "meta")


class ReportIndexError(Exception):
    """The index cannot be used (missing, another schema version, not SQLite); says what to do."""


class MissingIndexError(ReportIndexError):
    """A reader found no index file (it is never created empty for a reader)."""


class SchemaVersionError(ReportIndexError):
    """The index was written by a crashproc with another schema: a reindex recreates it."""


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


def configured_index_path(report_index: Path | None, storage_url: str | None) -> Path:
    """The configured index (``reports.index``), else the one beside the storage."""
    return Path(report_index) if report_index else default_index_path(storage_url)


class ReportIndex:
    """One report index file. ``create=False`` (readers) refuses a file that does not exist."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.create = create
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    # -- connection ---------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This process's connection, opened (and the schema checked) on first use."""
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise ReportIndexError(
                f"the report index needs SQLite {'.'.join(map(str, MIN_SQLITE))} or later "
                f"(upserts with RETURNING); Python here links {sqlite3.sqlite_version}"
            )
        if not self.path.exists():
            if not self.create:
                raise MissingIndexError(
                    f"no report index at {self.path}: build it with `crashproc report reindex`"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every transaction here is explicit (BEGIN IMMEDIATE ... COMMIT).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a power cut may lose the last commits, never corrupt the file; the
            # index is derived data that a reindex restores.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._check_schema(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ReportIndexError(
                f"{self.path} is not a usable report index ({exc.__class__.__name__}: {exc}); "
                "move it away and run `crashproc report reindex`"
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            with _transaction(conn):
                # Another process may have created it while this one waited for the lock.
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    self._create_schema(conn)
            version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"report index {self.path} has schema version {version}, this crashproc uses "
                f"{SCHEMA_VERSION}: rebuild it with `crashproc report reindex`"
            )

    @staticmethod
    def _create_schema(conn: sqlite3.Connection) -> None:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise ReportIndexError("the file holds tables that are not a report index")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __enter__(self) -> ReportIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def add(self, entries: Iterable[IndexEntry]) -> int:
        """Insert or replace the entries' crashes in one transaction; returns how many."""
        conn = self.conn
        count = 0
        with _transaction(conn):
            for entry in entries:
                self._replace(conn, entry)
                count += 1
        return count

    @staticmethod
    def _replace(conn: sqlite3.Connection, entry: IndexEntry) -> None:
        date = entry.date.isoformat()
        # An upsert keeps a known crash's id, so only its own rows below are replaced.
        (crash,) = conn.execute(
            "INSERT INTO crashes (crash_id, date, signature, product, version, generation) "
            "VALUES (?, ?, ?, ?, ?, (SELECT value FROM meta WHERE key = 'generation')) "
            "ON CONFLICT (crash_id) DO UPDATE SET date = excluded.date, "
            "signature = excluded.signature, product = excluded.product, "
            "version = excluded.version, generation = excluded.generation RETURNING id",
            (entry.crash_id, date, entry.signature, entry.product, entry.version),
        ).fetchone()
        conn.execute("DELETE FROM crash_modules WHERE crash = ?", (crash,))
        conn.execute("DELETE FROM missing_symbols WHERE crash = ?", (crash,))
        conn.executemany(
            "INSERT OR IGNORE INTO crash_modules (crash, module, date) VALUES (?, ?, ?)",
            [(crash, module, date) for module in entry.stack_modules],
        )
        conn.executemany(
            "INSERT INTO missing_symbols (crash, date, filename, version, debug_file, "
            "debug_id, code_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (crash, date, m.filename, m.version, m.debug_file, m.debug_id, m.code_id, m.reason)
                for m in entry.missing
            ],
        )

    def on_processed(self, crash_id: str, processed: dict[str, Any]) -> None:
        """The storage listener: index one freshly saved processed crash."""
        self.add([index_entry(crash_id, processed)])

    def start_generation(self) -> int:
        """Begin a rebuild: rows written from now on carry the returned generation."""
        conn = self.conn
        with _transaction(conn):
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            return conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]

    def drop_older_generations(self, generation: int) -> int:
        """End a rebuild: drop crashes not rewritten since ``generation`` began; returns how many."""
        conn = self.conn
        stale = "SELECT id FROM crashes WHERE generation < ?"
        with _transaction(conn):
            conn.execute(f"DELETE FROM crash_modules WHERE crash IN ({stale})", (generation,))
            conn.execute(f"DELETE FROM missing_symbols WHERE crash IN ({stale})", (generation,))
            return conn.execute("DELETE FROM crashes WHERE generation < ?", (generation,)).rowcount

    # -- reading ------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only query (a consistent snapshot, even while workers write)."""
        conn = self.conn
        cursor = conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def crash_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM crashes").fetchone()[0]


def recreate_index(path: str | Path) -> None:
    """Drop every table of the file at ``path`` so the next open creates the current schema.

    For an index of another schema version (or a damaged one), before a reindex; the file is
    kept (workers may hold it open), only its contents go.
    """
    conn = sqlite3.connect(Path(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        with _transaction(conn):
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("PRAGMA user_version = 0")
    except sqlite3.DatabaseError as exc:
        raise ReportIndexError(
            f"{path} cannot be reset ({exc.__class__.__name__}: {exc}); move it away"
        ) from None
    finally:
        conn.close()


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error: writers take the lock up front, so two
    workers never deadlock upgrading read locks."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def attach_report_index(storage: CrashStorage, index_path: str | Path) -> ReportIndex:
    """Keep the index at ``index_path`` up to date with every processed crash ``storage`` saves.

    The returned index is the listener's; close it with the storage.
    """
    index = ReportIndex(index_path)
    storage.processed_listeners.append(index.on_processed)
    return index


def day(value: datetime.date | None) -> str | None:
    """A date as the index stores it (None stays None: an open end)."""
    return value.isoformat() if value is not None else None
