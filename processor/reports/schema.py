"""The report index's schema as numbered migrations, each written for SQLite and PostgreSQL side
by side, so the two backends hold the same tables and a change to one is seen next to the other.

An index records the version it is at; opening it applies the missing migrations in place, in
one transaction, when each of them is ``online`` (cheap and additive: new indexes, new nullable
columns), so a daemon started with a newer crashproc upgrades its index and keeps working. A
migration that rewrites large tables is not online: it waits for ``crashproc report migrate``,
and an index that needs it is refused with that advice. Migrations only ever add to what
version 1 created, so no version needs a reindex from storage to keep working.

The dialects differ in identity columns (SQLite's rowid alias, PostgreSQL's identity), in how a
module name matches without case (SQLite's NOCASE collation, PostgreSQL's index on lower()),
and in collation: text sorts by code point on both (PostgreSQL's columns say ``COLLATE "C"``),
so ties rank the same way whatever the database's locale.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

SQLITE, POSTGRESQL = "sqlite", "postgresql"

# The processed crash's public fields that crashes are filtered, faceted and broken down by,
# besides signature, product and version: each is a ``crashes`` column of the same name
# (migration 3). Crashes indexed before that migration have them NULL until a reindex.
DIMENSIONS = (
    "os_name",
    "os_version",
    "os_pretty_version",
    "cpu_arch",
    "process_type",
    "reason",
    "release_channel",
)


# What counts.py keeps crashes per day of (every crash once per field; per signature too).
COUNTED_FIELDS = ("signature", "product", "version", *DIMENSIONS)
SIGNATURE_COUNTED_FIELDS = ("product", "version", *DIMENSIONS)
# What counts.py also keeps crashes per day of by two fields at once (migration 5): each pair
# of these once, the first field of a pair the earlier one here, so a search filtered on one
# field and faceted on another is a sum too (signature's pairs are signature_day_counts).
PAIRS = tuple(itertools.combinations(SIGNATURE_COUNTED_FIELDS, 2))
# A missing module's key in missing_symbols and in its day counts (migration 5).
MISSING_COLUMNS = ("filename", "version", "debug_file", "debug_id", "code_id", "reason")


def _recount() -> tuple[str, ...]:
    """Fill the count tables from the crashes table (migration 4)."""
    day = [
        "INSERT INTO day_counts (field, value, date, crashes) "
        f"SELECT '{field}', COALESCE({field}, ''), date, COUNT(*) FROM crashes GROUP BY 2, 3"
        for field in COUNTED_FIELDS
    ]
    per_signature = [
        "INSERT INTO signature_day_counts (signature, field, value, date, crashes) "
        f"SELECT COALESCE(signature, ''), '{field}', COALESCE({field}, ''), date, COUNT(*) "
        "FROM crashes GROUP BY 1, 3, 4"
        for field in SIGNATURE_COUNTED_FIELDS
    ]
    return (*day, *per_signature)


def _recount_pairs_and_missing() -> tuple[str, ...]:
    """Fill the pair and missing-symbol counts from the crashes and their missing modules
    (migration 5)."""
    pairs = [
        "INSERT INTO pair_day_counts (field, value, other, other_value, date, crashes) "
        f"SELECT '{a}', COALESCE({a}, ''), '{b}', COALESCE({b}, ''), date, COUNT(*) "
        "FROM crashes GROUP BY 2, 4, 5"
        for a, b in PAIRS
    ]
    keys = ", ".join(f"COALESCE({c}, '')" for c in MISSING_COLUMNS)
    missing = (
        f"INSERT INTO missing_symbol_day_counts (date, {', '.join(MISSING_COLUMNS)}, crashes) "
        f"SELECT date, {keys}, COUNT(*) FROM missing_symbols "
        f"GROUP BY {', '.join(str(n) for n in range(1, len(MISSING_COLUMNS) + 2))}"
    )
    return (*pairs, missing)


def _pair_and_missing_tables(text: str, integer: str, rowid: str) -> tuple[str, ...]:
    """Migration 5's tables in one dialect (its text and integer types, WITHOUT ROWID)."""
    missing = ", ".join(f"{c} {text} NOT NULL" for c in MISSING_COLUMNS)
    return (
        f"CREATE TABLE pair_day_counts (field {text} NOT NULL, value {text} NOT NULL, "
        f"other {text} NOT NULL, other_value {text} NOT NULL, date {text} NOT NULL, "
        f"crashes {integer} NOT NULL, "
        f"PRIMARY KEY (field, other, date, value, other_value)){rowid}",
        f"CREATE TABLE missing_symbol_day_counts (date {text} NOT NULL, {missing}, "
        f"crashes {integer} NOT NULL, PRIMARY KEY (date, {', '.join(MISSING_COLUMNS)})){rowid}",
    )


@dataclass(frozen=True)
class Migration:
    version: int  # the version an index is at once this migration is applied
    summary: str
    statements: dict[str, tuple[str, ...]]  # per dialect
    online: bool = True  # cheap enough to apply when a process opens the index


MIGRATIONS = (
    Migration(
        1,
        "crashes, their stack modules and their modules without symbols",
        {
            SQLITE: (
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
                "INSERT INTO meta (key, value) VALUES ('generation', 1)",
                # Rows elsewhere refer to a crash by a small integer, not its 36-character id:
                # crash_modules holds a dozen rows per crash and is most of the index.
                "CREATE TABLE crashes (id INTEGER PRIMARY KEY, crash_id TEXT NOT NULL UNIQUE, "
                "date TEXT NOT NULL, signature TEXT, product TEXT, version TEXT, "
                "generation INTEGER NOT NULL)",
                "CREATE INDEX crashes_date_signature ON crashes (date, signature)",
                "CREATE TABLE crash_modules (crash INTEGER NOT NULL, "
                "module TEXT NOT NULL COLLATE NOCASE, date TEXT NOT NULL, "
                "PRIMARY KEY (crash, module)) WITHOUT ROWID",
                "CREATE INDEX crash_modules_module_date ON crash_modules (module, date)",
                "CREATE TABLE missing_symbols (crash INTEGER NOT NULL, date TEXT NOT NULL, "
                "filename TEXT, version TEXT, debug_file TEXT, debug_id TEXT, code_id TEXT, "
                "reason TEXT NOT NULL)",
                "CREATE INDEX missing_symbols_crash ON missing_symbols (crash)",
                "CREATE INDEX missing_symbols_date ON missing_symbols (date)",
            ),
            POSTGRESQL: (
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                "INSERT INTO meta (key, value) VALUES ('generation', 1)",
                "CREATE TABLE crashes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                'crash_id TEXT NOT NULL UNIQUE, date TEXT COLLATE "C" NOT NULL, '
                'signature TEXT COLLATE "C", product TEXT COLLATE "C", '
                'version TEXT COLLATE "C", generation BIGINT NOT NULL)',
                "CREATE INDEX crashes_date_signature ON crashes (date, signature)",
                'CREATE TABLE crash_modules (crash BIGINT NOT NULL, module TEXT COLLATE "C" '
                'NOT NULL, date TEXT COLLATE "C" NOT NULL)',
                # A module once per crash, whatever its case (SQLite's NOCASE primary key).
                "CREATE UNIQUE INDEX crash_modules_crash_module "
                "ON crash_modules (crash, lower(module))",
                "CREATE INDEX crash_modules_module_date ON crash_modules (lower(module), date)",
                'CREATE TABLE missing_symbols (crash BIGINT NOT NULL, date TEXT COLLATE "C" '
                'NOT NULL, filename TEXT COLLATE "C", version TEXT COLLATE "C", '
                'debug_file TEXT COLLATE "C", debug_id TEXT COLLATE "C", '
                'code_id TEXT COLLATE "C", reason TEXT COLLATE "C" NOT NULL)',
                "CREATE INDEX missing_symbols_crash ON missing_symbols (crash)",
                "CREATE INDEX missing_symbols_date ON missing_symbols (date)",
            ),
        },
    ),
    Migration(
        2,
        "crashes by product and day, for product facets and their date ranges",
        {
            SQLITE: ("CREATE INDEX crashes_product_date ON crashes (product, date)",),
            POSTGRESQL: ("CREATE INDEX crashes_product_date ON crashes (product, date)",),
        },
    ),
    Migration(
        3,
        "what crash reports are broken down by: OS, CPU, process type, crash reason, channel",
        {
            SQLITE: tuple(f"ALTER TABLE crashes ADD COLUMN {c} TEXT" for c in DIMENSIONS),
            POSTGRESQL: tuple(
                f'ALTER TABLE crashes ADD COLUMN {c} TEXT COLLATE "C"' for c in DIMENSIONS
            ),
        },
    ),
    Migration(
        4,
        "crash counts per day, in all and per signature, filled from every crash",
        {
            SQLITE: (
                "CREATE TABLE day_counts (field TEXT NOT NULL, value TEXT NOT NULL, "
                "date TEXT NOT NULL, crashes INTEGER NOT NULL, "
                "PRIMARY KEY (field, date, value)) WITHOUT ROWID",
                "CREATE TABLE signature_day_counts (signature TEXT NOT NULL, "
                "field TEXT NOT NULL, value TEXT NOT NULL, date TEXT NOT NULL, "
                "crashes INTEGER NOT NULL, PRIMARY KEY (signature, field, date, value)) "
                "WITHOUT ROWID",
                "CREATE INDEX signature_day_counts_date ON signature_day_counts (date)",
                "CREATE INDEX signature_day_counts_value ON signature_day_counts "
                "(field, value, date)",
                "CREATE INDEX crashes_signature_date ON crashes (signature, date)",
                *_recount(),
            ),
            POSTGRESQL: (
                'CREATE TABLE day_counts (field TEXT COLLATE "C" NOT NULL, '
                'value TEXT COLLATE "C" NOT NULL, date TEXT COLLATE "C" NOT NULL, '
                "crashes BIGINT NOT NULL, PRIMARY KEY (field, date, value))",
                'CREATE TABLE signature_day_counts (signature TEXT COLLATE "C" NOT NULL, '
                'field TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL, '
                'date TEXT COLLATE "C" NOT NULL, crashes BIGINT NOT NULL, '
                "PRIMARY KEY (signature, field, date, value))",
                "CREATE INDEX signature_day_counts_date ON signature_day_counts (date)",
                "CREATE INDEX signature_day_counts_value ON signature_day_counts "
                "(field, value, date)",
                "CREATE INDEX crashes_signature_date ON crashes (signature, date)",
                *_recount(),
            ),
        },
        # It reads every crash to fill the counts: not at a daemon's start-up.
        online=False,
    ),
    Migration(
        5,
        "crash counts per day by two fields at once, and missing-symbol counts per day",
        {
            SQLITE: (
                *_pair_and_missing_tables("TEXT", "INTEGER", " WITHOUT ROWID"),
                *_recount_pairs_and_missing(),
            ),
            POSTGRESQL: (
                *_pair_and_missing_tables('TEXT COLLATE "C"', "BIGINT", ""),
                *_recount_pairs_and_missing(),
            ),
        },
        # It reads every crash and missing module: `crashproc report migrate` does it.
        online=False,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
TABLES = (
    "pair_day_counts",
    "missing_symbol_day_counts",
    "day_counts",
    "signature_day_counts",
    "crash_modules",
    "missing_symbols",
    "crashes",
    "meta",
)


def pending(version: int) -> list[Migration]:
    """The migrations an index at ``version`` still needs, in order."""
    return [m for m in MIGRATIONS if m.version > version]
