"""Crash counts per day kept beside the crashes, so the browser's common questions are sums.

"How many crashes per signature, product, OS ... over the last 30 days" asked of the crashes
table reads every crash of the period (500,000 of 1,000,000 in the benchmark), once per facet.
Two small tables answer it by summing at most a few rows per value and day instead:

- ``day_counts (field, value, date, crashes)``: every crash counted once per FIELDS entry,
  under its value ('' when unknown). Serves top crashers, totals and Super Search facets when
  the only filter is the date.
- ``signature_day_counts (signature, field, value, date, crashes)``: the same per signature
  (SIGNATURE_FIELDS), for the signature page's count, first and last day, breakdowns and chart.

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
from processor.reports.schema import SIGNATURE_COUNTED_FIELDS as SIGNATURE_FIELDS

# The field whose counts add up to every crash (each crash has exactly one product, maybe '').
TOTAL_FIELD = "product"

DayKey = tuple[str, str, str]  # field, value, date
SignatureKey = tuple[str, str, str, str]  # signature, field, value, date


def _value(value: Any) -> str:
    return value if isinstance(value, str) else ""


def keys(row: dict[str, Any]) -> tuple[list[DayKey], list[SignatureKey]]:
    """The counts one crash adds to (``row``: its crashes columns by name)."""
    date, signature = row["date"], _value(row["signature"])
    day = [(field, _value(row[field]), date) for field in FIELDS]
    per_signature = [(signature, field, _value(row[field]), date) for field in SIGNATURE_FIELDS]
    return day, per_signature


class Deltas:
    """The changes one write makes to the counts."""

    def __init__(self) -> None:
        self.day: Counter[DayKey] = Counter()
        self.signature: Counter[SignatureKey] = Counter()

    def add(self, row: dict[str, Any], sign: int) -> None:
        day, per_signature = keys(row)
        for key in day:
            self.day[key] += sign
        for key in per_signature:
            self.signature[key] += sign

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
    deltas.apply(tx)
