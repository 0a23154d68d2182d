"""The two databases a report index lives in, behind one small interface.

The index code writes SQL once, with SQLite's placeholders (``?`` and ``:name``); the
PostgreSQL side translates them to psycopg's. What differs besides (connections, transactions,
where the schema version is kept, the case-insensitive module match) is here, one class per
backend, side by side:

- SQLite: one file, one connection per process (opened again after a fork), WAL mode so readers
  never block the writer, a busy timeout so writers queue, ``BEGIN IMMEDIATE`` transactions
  (writers take the lock up front and never deadlock). The version is ``PRAGMA user_version``.
- PostgreSQL (psycopg 3): a connection pool per process (checked on checkout, so a restarted
  server costs a reconnect, not an error), statements prepared on first use (the listener runs
  the same handful for every crash), ``executemany`` pipelined (batched inserts in one round
  trip). Schema changes take an advisory lock so concurrent daemons migrate once. The version
  is a row of ``meta``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from processor.reports.errors import (
    IndexUnavailable,
    MissingIndexError,
    ReportIndexError,
)
from processor.reports.schema import POSTGRESQL, SQLITE, TABLES

BUSY_TIMEOUT_MS = 60_000
MIN_SQLITE = (3, 35)
# Page cache per connection: the indexes of 100,000 crashes stay mostly in memory.
CACHE_KIB = 32 * 1024
# Connections per process: a daemon worker writes one crash at a time; reindex and reports
# use one; a few spare ones cover the pool's background checks.
POOL_SIZE = 2
# How long a caller waits for a connection (the server down: then IndexUnavailable).
CONNECT_TIMEOUT_S = 10
SCHEMA_LOCK = 0x637261736870  # pg_advisory_xact_lock key: "crashp"
CRASH_LOCK = 0x63726173  # the first key of a crash's advisory lock ("cras"; a 32-bit key)

Params = Sequence[Any] | dict[str, Any]


def is_postgresql(target: str | Path) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0] in ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class Database(ABC):
    """One index database. ``transaction()`` yields an object with ``execute(sql, params)``
    (returning a cursor: ``fetchone``, ``fetchall``, ``rowcount``), ``executemany`` and
    ``returning_many`` (an insert's RETURNING value per row)."""

    dialect: str
    location: str  # for messages (no password)
    target: str | Path  # what open_database was given

    @abstractmethod
    def transaction(self, wait_s: float | None = None) -> contextlib.AbstractContextManager[Any]:
        """A write transaction; ``wait_s`` bounds the wait for a connection (PostgreSQL)."""

    @abstractmethod
    def query(self, sql: str, params: Params = ()) -> list[Any]: ...

    @abstractmethod
    def read_version(self, tx: Any) -> int: ...

    @abstractmethod
    def write_version(self, tx: Any, version: int) -> None: ...

    @abstractmethod
    def holds_other_tables(self, tx: Any) -> bool:
        """Whether an index without a version is in a database holding other tables of ours."""

    @abstractmethod
    def lock_schema(self, tx: Any) -> None:
        """Keep other processes out of schema changes until ``tx`` ends."""

    @abstractmethod
    def lock_crashes(self, tx: Any, crash_ids: Sequence[str]) -> None:
        """Keep other writers of these crashes (given sorted) out until ``tx`` ends."""

    @abstractmethod
    def module_equals(self, column: str, param: str) -> str:
        """SQL comparing a module column with a parameter without case, by the index."""

    @abstractmethod
    def crashes(self, straight: bool) -> str:
        """The crashes table as ``c``; read straight through rather than through an index
        when ``straight`` and the database must be told (see search._index_reads)."""

    @abstractmethod
    def counted_by_each(self, exprs: Sequence[str], rows: str, size: str) -> str:
        """A query of ``(facet, term, count)``: how many of ``rows`` (``FROM ... WHERE ...``)
        there are (facet -1, term NULL) and, for each expression (facet n), the ``size``
        (a parameter) terms most of them have, most first and ties by term (NULL first),
        reading the rows once and holding no more than each expression's distinct terms
        (both databases spill what outgrows their working memory to temporary files)."""

    @abstractmethod
    def drop_all(self) -> None:
        """Drop the index's tables (before a rebuild of an unusable index)."""

    @abstractmethod
    def close(self) -> None: ...


class _SQLiteTransaction:
    """The connection inside a transaction (sqlite3's executemany takes no RETURNING)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.execute = conn.execute
        self.executemany = conn.executemany

    def returning_many(self, sql: str, rows: Sequence[Params]) -> list[Any]:
        return [self.execute(sql, row).fetchone()[0] for row in rows]


class SQLiteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str | Path, create: bool) -> None:
        self.path = Path(path)
        self.target = self.path
        self.location = str(self.path)
        self.create = create
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    @property
    def conn(self) -> sqlite3.Connection:
        """This process's connection, opened on first use."""
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
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self.unusable(exc) from None
        return conn

    def unusable(self, exc: Exception) -> ReportIndexError:
        return ReportIndexError(
            f"{self.path} is not a usable report index ({exc.__class__.__name__}: {exc}); "
            "move it away and run `crashproc report reindex`"
        )

    @contextlib.contextmanager
    def transaction(self, wait_s: float | None = None) -> Iterator[_SQLiteTransaction]:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self.unusable(exc) from None
        try:
            yield _SQLiteTransaction(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def read_version(self, tx: _SQLiteTransaction) -> int:
        try:
            return tx.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise self.unusable(exc) from None

    def write_version(self, tx: _SQLiteTransaction, version: int) -> None:
        tx.execute(f"PRAGMA user_version = {int(version)}")

    def holds_other_tables(self, tx: _SQLiteTransaction) -> bool:
        return tx.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0

    def lock_schema(self, tx: _SQLiteTransaction) -> None:
        pass  # BEGIN IMMEDIATE already holds the database's one write lock

    def lock_crashes(self, tx: _SQLiteTransaction, crash_ids: Sequence[str]) -> None:
        pass  # the same lock

    def module_equals(self, column: str, param: str) -> str:
        return f"{column} = {param}"  # the column is COLLATE NOCASE

    def crashes(self, straight: bool) -> str:
        return "crashes AS c NOT INDEXED" if straight else "crashes AS c"

    def counted_by_each(self, exprs: Sequence[str], rows: str, size: str) -> str:
        # No grouping sets in SQLite: the rows' expressions once into a temporary table,
        # grouped there by each.
        kept = ", ".join(f"{expr} AS f{n}" for n, expr in enumerate(exprs)) or "1 AS f"
        parts = ["SELECT -1 AS facet, NULL AS term, COUNT(*) AS count FROM matched"]
        parts += [
            f"SELECT * FROM (SELECT {n} AS facet, f{n} AS term, COUNT(*) AS count "
            f"FROM matched GROUP BY f{n} ORDER BY count DESC, term NULLS FIRST "
            f"LIMIT {size}) AS g{n}"
            for n in range(len(exprs))
        ]
        return (
            f"WITH matched AS MATERIALIZED (SELECT {kept} {rows}) "
            f"{' UNION ALL '.join(parts)} ORDER BY facet, count DESC, term NULLS FIRST"
        )

    def drop_all(self) -> None:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("PRAGMA user_version = 0")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise ReportIndexError(
                f"{self.path} cannot be reset ({exc.__class__.__name__}: {exc}); move it away"
            ) from None
        finally:
            conn.close()

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


# -- PostgreSQL ------------------------------------------------------------------------------

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=256)
def postgres_sql(sql: str) -> str:
    """SQLite placeholders to psycopg's: ``?`` -> ``%s``, ``:name`` -> ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%").replace("?", "%s"))


class Row(tuple):
    """A result row read by position or by column name, as sqlite3.Row is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


class _PostgresTransaction:
    """A connection inside a transaction, taking SQLite-style SQL."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self.conn.execute(postgres_sql(sql), params or None, prepare=True)

    def executemany(self, sql: str, rows: Sequence[Params]) -> Any:
        cursor = self.conn.cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(postgres_sql(sql), rows)
        return cursor

    def returning_many(self, sql: str, rows: Sequence[Params]) -> list[Any]:
        """The first column RETURNING gives for each row, in one pipelined round trip."""
        cursor = self.conn.cursor()
        cursor.executemany(postgres_sql(sql), list(rows), returning=True)
        values = []
        while True:
            values.append(cursor.fetchone()[0])
            if not cursor.nextset():
                return values


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, url: str, create: bool) -> None:
        self.url = url
        self.target = url
        self.location = redact_url(url)
        self.create = create
        self._pool: Any = None
        self._pid = 0

    @property
    def pool(self) -> Any:
        """This process's pool (a forked child makes its own: the parent's threads are gone)."""
        if self._pool is None or self._pid != os.getpid():
            try:
                import psycopg_pool
            except ImportError:
                raise ReportIndexError(
                    "a postgresql:// report index needs psycopg: "
                    "pip install 'crashproc[postgresql]'"
                ) from None
            self._pool = psycopg_pool.ConnectionPool(
                self.url,
                min_size=1,
                max_size=POOL_SIZE,
                open=True,
                timeout=CONNECT_TIMEOUT_S,
                check=psycopg_pool.ConnectionPool.check_connection,
                kwargs={
                    "prepare_threshold": 0,
                    "row_factory": _row_factory,
                    "connect_timeout": CONNECT_TIMEOUT_S,
                    "application_name": "crashproc",
                },
                name="crashproc-report-index",
            )
            self._pid = os.getpid()
        return self._pool

    @contextlib.contextmanager
    def _connection(self, wait_s: float | None = None) -> Iterator[Any]:
        import psycopg
        import psycopg_pool

        try:
            with self.pool.connection(timeout=wait_s) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise IndexUnavailable(
                f"report index {self.location}: {exc.__class__.__name__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            ) from exc
        except psycopg.DatabaseError as exc:
            raise ReportIndexError(
                f"report index {self.location}: {exc.__class__.__name__}: {exc}"
            ) from exc

    @contextlib.contextmanager
    def transaction(self, wait_s: float | None = None) -> Iterator[_PostgresTransaction]:
        with self._connection(wait_s) as conn, conn.transaction():
            yield _PostgresTransaction(conn)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self._connection() as conn, conn.transaction():
            return conn.execute(postgres_sql(sql), params or None).fetchall()

    def read_version(self, tx: _PostgresTransaction) -> int:
        if tx.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0] is False:
            return 0
        row = tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return row[0] if row else 0

    def write_version(self, tx: _PostgresTransaction, version: int) -> None:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (version,),
        )

    def holds_other_tables(self, tx: _PostgresTransaction) -> bool:
        (count,) = tx.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ANY(?)",
            (list(TABLES),),
        ).fetchone()
        return count > 0

    def lock_schema(self, tx: _PostgresTransaction) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))

    def lock_crashes(self, tx: _PostgresTransaction, crash_ids: Sequence[str]) -> None:
        # One advisory lock per crash id (by its hash; a collision only makes two wait).
        tx.executemany(
            f"SELECT pg_advisory_xact_lock({CRASH_LOCK}, hashtext(?))",
            [(crash_id,) for crash_id in crash_ids],
        )

    def module_equals(self, column: str, param: str) -> str:
        return f"lower({column}) = lower({param})"  # by the index on lower(module)

    def crashes(self, straight: bool) -> str:
        return "crashes AS c"  # the planner's statistics know how many rows a range holds

    def counted_by_each(self, exprs: Sequence[str], rows: str, size: str) -> str:
        # One hash table per expression in one pass (MixedAggregate), then each one's first.
        if not exprs:
            return f"SELECT -1 AS facet, NULL AS term, COUNT(*) AS count {rows}"
        grouped = [f"GROUPING({expr}) = 0" for expr in exprs]
        facet = " ".join(f"WHEN {g} THEN {n}" for n, g in enumerate(grouped))
        term = " ".join(f"WHEN {g} THEN {expr}" for g, expr in zip(grouped, exprs, strict=True))
        sets = ", ".join(f"({expr})" for expr in exprs)
        return (
            "SELECT facet, term, count FROM (SELECT facet, term, count, row_number() OVER "
            "(PARTITION BY facet ORDER BY count DESC, term NULLS FIRST) AS rank FROM ("
            f"SELECT CASE {facet} ELSE -1 END AS facet, CASE {term} END AS term, "
            f"COUNT(*) AS count {rows} GROUP BY GROUPING SETS ({sets}, ())) AS g) AS w "
            f"WHERE facet < 0 OR rank <= {size} ORDER BY facet, count DESC, term NULLS FIRST"
        )

    def drop_all(self) -> None:
        with self.transaction() as tx:
            self.lock_schema(tx)
            for table in TABLES:
                tx.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None


def open_database(target: str | Path, create: bool) -> Database:
    """The database of ``target``: a postgresql:// URL, else an SQLite file path."""
    if is_postgresql(target):
        return PostgresDatabase(str(target), create)
    return SQLiteDatabase(target, create)
