"""SQLite index from (code file, code id) to (debug file, debug id).

A module without a usable debug id can only be symbolicated when the store knows which
debug file and id belong to its code file and code id (read from INFO CODE_ID headers).
Lookups go through the (code_file, code_id) index and never scan the table.

Code files are matched without case (ASCII, SQLite's NOCASE): Windows, where the code file /
code id lookup matters most, does not distinguish `XUL.DLL` from `xul.dll`, and a minidump
writes the name as the loader saw it. Code ids are hex and upper-cased. Debug files and ids
keep the download path's rules (a debug file's case matters there, as in Tecken; the id is
upper-cased).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from crashproc.records import FrozenRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS code_info (
    code_file TEXT NOT NULL,
    code_id TEXT NOT NULL,
    debug_file TEXT NOT NULL,
    debug_id TEXT NOT NULL,
    generator TEXT,
    added REAL NOT NULL,
    UNIQUE (debug_file, debug_id, code_file, code_id)
);
CREATE INDEX IF NOT EXISTS code_info_by_code_nocase
    ON code_info (code_file COLLATE NOCASE, code_id);
CREATE TABLE IF NOT EXISTS indexed_files (
    relpath TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
"""

LOOKUP_SQL = (
    "SELECT debug_file, debug_id FROM code_info WHERE code_file = ? COLLATE NOCASE "
    "AND code_id = ? "
    "ORDER BY rowid DESC LIMIT 1"
)


class DebugInfo(FrozenRecord):
    debug_file: str
    debug_id: str

    def __init__(self, debug_file: str, debug_id: str) -> None:
        self.debug_file = debug_file
        self.debug_id = debug_id

    _fields = ("debug_file", "debug_id")


class CodeInfoIndex:
    """One SQLite file; a connection per operation so threads and processes can share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        finally:
            db.close()

    def add(
        self,
        db: sqlite3.Connection,
        code_file: str,
        code_id: str,
        debug_file: str,
        debug_id: str,
        generator: str | None = None,
    ) -> None:
        """Record one mapping (ids upper-cased; an existing identical mapping is refreshed)."""
        db.execute(
            "DELETE FROM code_info WHERE debug_file = ? AND debug_id = ? AND code_file = ?"
            " AND code_id = ?",
            (debug_file, debug_id.upper(), code_file, code_id.upper()),
        )
        db.execute(
            "INSERT INTO code_info VALUES (?, ?, ?, ?, ?, ?)",
            (code_file, code_id.upper(), debug_file, debug_id.upper(), generator, time.time()),
        )

    def lookup(self, code_file: str, code_id: str) -> DebugInfo | None:
        """Newest mapping for the code file and code id (both compared without case)."""
        with self.connect() as db:
            row = db.execute(LOOKUP_SQL, (code_file, code_id.upper())).fetchone()
        return DebugInfo(*row) if row else None

    def query_plan(self) -> list[str]:
        """SQLite's plan for the lookup query (tests check it uses the index)."""
        with self.connect() as db:
            rows = db.execute("EXPLAIN QUERY PLAN " + LOOKUP_SQL, ("x", "Y")).fetchall()
        return [row[-1] for row in rows]
