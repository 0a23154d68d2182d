"""Crash counts per day kept beside the crashes, so the browser's common questions are sums.

"How many crashes per signature, product, OS ... over the last 30 days" asked of the crashes
table reads every crash of the period (500,000 of 1,000,000 in the benchmark), once per facet.
Two small tables answer it by summing at most a few rows per value and day instead:

- ``day_counts (field, value, date, crashes)``: every crash counted once per FIELDS entry,
  under its value ('' when unknown). Serves top crashers, totals and Super Search facets when
  the only filter is the date.
- ``signature_day_counts (signature, field, value, date, crashes)``: the same per signature
  (SIGNATURE_FIELDS), for the signature page's count, first and last day, breakdowns and chart.
- ``pair_day_counts (field, value, other, other_value, date, crashes)``: every crash counted
  once per PAIRS entry, by its values of both fields. With the two above, a Super Search
  narrowed to values of one field (``os_name=Windows NT``) and faceted by any other is a sum
  too: 36 more counts per crash, each a few rows a day (the values of two fields seen
  together), where reading the matching crashes took seconds at a million.
- ``missing_symbol_day_counts (date, filename, ..., reason, crashes)``: the missing_symbols
  rows per day and module key, for the missing-symbols report (a few thousand rows a day
  instead of every missing module of every crash, scattered over the table by arrival).

They change in the same transaction as the crashes they count: writing a crash subtracts its
previous row's counts (a crash reindexed or reprocessed) and adds its new ones, in one upsert
per changed count, in key order (PostgreSQL writers then never deadlock on a count row).
Pruning drops whole days; a rebuild's drop of stale crashes subtracts theirs. The counts are
derived data like the rest of the index; migration 4 fills them from the crashes table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from processor.reports.schema import COUNTED_FIELDS as FIELDS
from processor.reports.schema import MISSING_COLUMNS, PAIRS
from processor.reports.schema import SIGNATURE_COUNTED_FIELDS as SIGNATURE_FIELDS

# The field whose counts add up to every crash (each crash has exactly one product, maybe '').
TOTAL_FIELD = "product"

DayKey = tuple[str, str, str]  # field, value, date
SignatureKey = tuple[str, str, str, str]  # signature, field, value, date
PairKey = tuple[str, str, str, str, str]  # field, value, other, other_value, date
MissingKey = tuple[str, ...]  # date, then MISSING_COLUMNS ('' for unknown)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else ""


def keys(row: dict[str, Any]) -> tuple[list[DayKey], list[SignatureKey], list[PairKey]]:
    """The counts one crash adds to (``row``: its crashes columns by name)."""
    date, signature = row["date"], _value(row["signature"])
    values = {field: _value(row[field]) for field in FIELDS}
    day = [(field, values[field], date) for field in FIELDS]
    per_signature = [(signature, field, values[field], date) for field in SIGNATURE_FIELDS]
    pairs = [(a, values[a], b, values[b], date) for a, b in PAIRS]
    return day, per_signature, pairs


def missing_key(date: str, columns: Sequence[Any]) -> MissingKey:
    """The count one missing_symbols row adds to (``columns``: MISSING_COLUMNS' values)."""
    return (date, *(_value(value) for value in columns))


class Deltas:
    """The changes one write makes to the counts."""

    def __init__(self) -> None:
        self.day: Counter[DayKey] = Counter()
        self.signature: Counter[SignatureKey] = Counter()
        self.pair: Counter[PairKey] = Counter()
        self.missing: Counter[MissingKey] = Counter()

    def add(self, row: dict[str, Any], sign: int) -> None:
        """Count the crash ``row`` in (``sign`` +1) or out (-1)."""
        counters = (self.day, self.signature, self.pair)
        for counter, added in zip(counters, keys(row), strict=True):
            if sign > 0:  # Counter.update counts in C: a crash adds to 55 counts
                counter.update(added)
            else:
                counter.subtract(added)

    def apply(self, tx: Any) -> None:
        tx.executemany(
            "INSERT INTO day_counts (field, value, date, crashes) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (field, date, value) DO UPDATE "
            "SET crashes = day_counts.crashes + excluded.crashes",
            [(*key, n) for key, n in sorted(self.day.items()) if n],
        )
        tx.executemany(
            "INSERT INTO signature_day_counts (signature, field, value, date, crashes) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (signature, field, date, value) DO UPDATE "
            "SET crashes = signature_day_counts.crashes + excluded.crashes",
            [(*key, n) for key, n in sorted(self.signature.items()) if n],
        )
        tx.executemany(
            "INSERT INTO pair_day_counts (field, value, other, other_value, date, crashes) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (field, other, date, value, other_value) "
            "DO UPDATE SET crashes = pair_day_counts.crashes + excluded.crashes",
            [(*key, n) for key, n in sorted(self.pair.items()) if n],
        )
        tx.executemany(
            f"INSERT INTO missing_symbol_day_counts (date, {_MISSING}, crashes) "
            f"VALUES (?, {', '.join('?' for _ in MISSING_COLUMNS)}, ?) "
            f"ON CONFLICT (date, {_MISSING}) DO UPDATE "
            "SET crashes = missing_symbol_day_counts.crashes + excluded.crashes",
            [(*key, n) for key, n in sorted(self.missing.items()) if n],
        )


_MISSING = ", ".join(MISSING_COLUMNS)


COLUMNS = ("crash_id", "date", *FIELDS)
# Bound on the parameters of one IN list (SQLite allows 32,766; PostgreSQL 65,535).
CHUNK = 500


def previous_rows(tx: Any, crash_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The crashes rows these crash ids have now (before they are replaced)."""
    rows = []
    for start in range(0, len(crash_ids), CHUNK):
        chunk = crash_ids[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        cursor = tx.execute(
            f"SELECT {', '.join(COLUMNS)} FROM crashes WHERE crash_id IN ({marks})", chunk
        )
        rows += [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return rows


def previous_missing(tx: Any, crash_ids: Sequence[str]) -> list[MissingKey]:
    """The missing-symbol count keys of these crashes' missing_symbols rows now."""
    keys = []
    for start in range(0, len(crash_ids), CHUNK):
        chunk = crash_ids[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        cursor = tx.execute(
            f"SELECT s.date, {', '.join('s.' + c for c in MISSING_COLUMNS)} "
            "FROM missing_symbols AS s JOIN crashes AS c ON c.id = s.crash "
            f"WHERE c.crash_id IN ({marks})",
            chunk,
        )
        keys += [missing_key(row[0], row[1:]) for row in cursor.fetchall()]
    return keys


def subtract_stale(tx: Any, generation: int) -> None:
    """Take the crashes of generations before ``generation`` out of the counts (grouped in
    SQL, so memory stays bounded however many there are)."""
    deltas = Deltas()
    for field in FIELDS:
        for value, date, crashes in tx.execute(
            f"SELECT COALESCE({field}, ''), date, COUNT(*) FROM crashes WHERE generation < ? "
            "GROUP BY 1, 2",
            (generation,),
        ).fetchall():
            deltas.day[(field, value, date)] -= crashes
    for field in SIGNATURE_FIELDS:
        for signature, value, date, crashes in tx.execute(
            f"SELECT COALESCE(signature, ''), COALESCE({field}, ''), date, COUNT(*) "
            "FROM crashes WHERE generation < ? GROUP BY 1, 2, 3",
            (generation,),
        ).fetchall():
            deltas.signature[(signature, field, value, date)] -= crashes
    for a, b in PAIRS:
        for value, other_value, date, crashes in tx.execute(
            f"SELECT COALESCE({a}, ''), COALESCE({b}, ''), date, COUNT(*) FROM crashes "
            "WHERE generation < ? GROUP BY 1, 2, 3",
            (generation,),
        ).fetchall():
            deltas.pair[(a, value, b, other_value, date)] -= crashes
    for date, *columns, crashes in tx.execute(
        f"SELECT date, {_MISSING}, COUNT(*) FROM missing_symbols "
        "WHERE crash IN (SELECT id FROM crashes WHERE generation < ?) "
        f"GROUP BY date, {_MISSING}",
        (generation,),
    ).fetchall():
        deltas.missing[missing_key(date, columns)] -= crashes
    deltas.apply(tx)
