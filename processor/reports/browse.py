"""The crash browser's queries: top crashers, a signature's history and its crashes.

Read-only SQL over the report index's ``crashes`` table (date, signature, product, version),
kept apart from index.py so the index's storage can change under it. Every filter is a
parameter; dates are the index's ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from processor.reports.index import ReportIndex, day

DEFAULT_DAYS = 7
PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """Which crashes count: a range of days (inclusive) and optionally a product, a version."""

    since: datetime.date
    until: datetime.date
    product: str | None = None
    version: str | None = None

    def where(self, prefix: str = "") -> tuple[str, dict[str, Any]]:
        clauses = [f"date >= :{prefix}since", f"date <= :{prefix}until"]
        params: dict[str, Any] = {
            f"{prefix}since": day(self.since),
            f"{prefix}until": day(self.until),
        }
        for name in ("product", "version"):
            value = getattr(self, name)
            if value:
                clauses.append(f"{name} = :{prefix}{name}")
                params[f"{prefix}{name}"] = value
        return " AND ".join(clauses), params

    def days(self) -> list[datetime.date]:
        count = (self.until - self.since).days + 1
        return [self.since + datetime.timedelta(days=n) for n in range(max(count, 0))]

    def previous(self) -> Filters:
        """The period of equal length just before this one."""
        length = self.until - self.since + datetime.timedelta(days=1)
        return Filters(self.since - length, self.until - length, self.product, self.version)


@dataclass
class TopCrasher:
    rank: int
    signature: str | None
    crashes: int
    percent: float
    previous_rank: int | None
    per_day: list[int] = field(default_factory=list)


def newest_day(index: ReportIndex) -> datetime.date | None:
    """The last day with a crash (where the default period ends: a demo's crashes may be old)."""
    value = index.query("SELECT MAX(date) FROM crashes")[0][0]
    return datetime.date.fromisoformat(value) if value else None


def default_filters(
    index: ReportIndex, days: int = DEFAULT_DAYS, until: datetime.date | None = None
) -> Filters:
    until = until or newest_day(index) or datetime.datetime.now(datetime.UTC).date()
    return Filters(until - datetime.timedelta(days=days - 1), until)


def products(index: ReportIndex) -> list[str]:
    return [
        row[0]
        for row in index.query(
            "SELECT DISTINCT product FROM crashes WHERE product IS NOT NULL ORDER BY product"
        )
    ]


def total(index: ReportIndex, filters: Filters) -> int:
    where, params = filters.where()
    return index.query(f"SELECT COUNT(*) FROM crashes WHERE {where}", params)[0][0]


def _ranks(index: ReportIndex, filters: Filters, limit: int | None) -> list[tuple[str, int, int]]:
    where, params = filters.where()
    sql = (
        "SELECT COALESCE(signature, '') AS signature, COUNT(*) AS crashes FROM crashes "
        f"WHERE {where} GROUP BY COALESCE(signature, '') "
        "ORDER BY crashes DESC, signature"
    )
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return [(row[0], row[1], rank) for rank, row in enumerate(index.query(sql, params), 1)]


def top_crashers(index: ReportIndex, filters: Filters, top: int = PAGE_SIZE) -> list[TopCrasher]:
    """The ``top`` signatures by crashes, with share, rank in the previous period, per day."""
    count = total(index, filters)
    rows = _ranks(index, filters, top)
    previous = {sig: rank for sig, _, rank in _ranks(index, filters.previous(), None)}
    per_day = signature_days(index, filters, [sig for sig, _, _ in rows])
    return [
        TopCrasher(
            rank=rank,
            signature=signature or None,
            crashes=crashes,
            percent=round(100.0 * crashes / count, 2) if count else 0.0,
            previous_rank=previous.get(signature),
            per_day=per_day.get(signature, [0] * len(filters.days())),
        )
        for signature, crashes, rank in rows
    ]


def signature_days(
    index: ReportIndex, filters: Filters, signatures: list[str]
) -> dict[str, list[int]]:
    """Crashes per day of the period for each signature ('' for none)."""
    if not signatures:
        return {}
    where, params = filters.where()
    marks = ", ".join(f":s{n}" for n in range(len(signatures)))
    params.update({f"s{n}": sig for n, sig in enumerate(signatures)})
    rows = index.query(
        "SELECT COALESCE(signature, '') AS signature, date, COUNT(*) FROM crashes "
        f"WHERE {where} AND COALESCE(signature, '') IN ({marks}) GROUP BY 1, 2",
        params,
    )
    days = {d.isoformat(): n for n, d in enumerate(filters.days())}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for signature, date, crashes in rows:
        counts[signature][days[date]] = crashes
    return {sig: counts[sig] for sig in signatures}


def _signature_clause(signature: str) -> tuple[str, dict[str, Any]]:
    if signature:
        return "signature = :signature", {"signature": signature}
    return "(signature IS NULL OR signature = '')", {}


@dataclass
class SignatureSummary:
    signature: str
    crashes: int
    first_seen: str | None
    last_seen: str | None
    products: list[tuple[str, int]]
    versions: list[tuple[str, int]]


def signature_summary(index: ReportIndex, signature: str) -> SignatureSummary:
    """All-time figures of one signature: count, first and last seen, products and versions."""
    clause, params = _signature_clause(signature)
    crashes, first, last = index.query(
        f"SELECT COUNT(*), MIN(date), MAX(date) FROM crashes WHERE {clause}", params
    )[0]

    def breakdown(column: str) -> list[tuple[str, int]]:
        rows = index.query(
            f"SELECT COALESCE({column}, ''), COUNT(*) FROM crashes WHERE {clause} "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            params,
        )
        return [(row[0], row[1]) for row in rows]

    return SignatureSummary(
        signature, crashes, first, last, breakdown("product"), breakdown("version")
    )


def signature_crashes(
    index: ReportIndex, signature: str, page: int = 1, page_size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """One page of the signature's crashes, newest first."""
    clause, params = _signature_clause(signature)
    rows = index.query(
        f"SELECT crash_id, date, product, version FROM crashes WHERE {clause} "
        "ORDER BY date DESC, crash_id LIMIT :limit OFFSET :offset",
        {**params, "limit": page_size, "offset": (max(page, 1) - 1) * page_size},
    )
    return [dict(row) for row in rows]


def first_and_last_seen(index: ReportIndex, signatures: list[str]) -> list[dict[str, Any]]:
    """Each known signature's first and last day (Crash Stats's SignatureFirstDate, with the
    last day too); unknown signatures are left out, as there."""
    if not signatures:
        return []
    marks = ", ".join(f":s{n}" for n in range(len(signatures)))
    rows = index.query(
        "SELECT signature, MIN(date) AS first_date, MAX(date) AS last_date FROM crashes "
        f"WHERE signature IN ({marks}) GROUP BY signature ORDER BY signature",
        {f"s{n}": sig for n, sig in enumerate(signatures)},
    )
    return [{"signature": row[0], "first_date": row[1], "last_date": row[2]} for row in rows]
