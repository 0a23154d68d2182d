"""The crash browser's queries: top crashers, a signature's history and its crashes.

Read-only SQL over the report index's ``crashes`` table (date, signature, product, version, OS,
CPU, process type, crash reason, channel), kept apart from index.py so the index's storage can
change under it. Every filter is a parameter; dates are the index's ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from processor.reports.counts import TOTAL_FIELD
from processor.reports.index import ReportIndex, day

DEFAULT_DAYS = 7
PAGE_SIZE = 50
# What top crashers can be narrowed to besides the period (index columns, Filters fields).
FILTERS = ("product", "version", "os_name", "process_type")


# What a signature's crashes are broken down by on its page: (index column, heading).
BREAKDOWNS = (
    ("product", "Product"),
    ("version", "Version"),
    ("os_pretty_version", "OS"),
    ("cpu_arch", "CPU"),
    ("process_type", "Process type"),
    ("reason", "Crash reason"),
    ("release_channel", "Release channel"),
)
# What the crashes-per-day chart can be split by, and into how many series (the rest: other).
SPLITS = {"version": "version", "os": "os_pretty_version"}
MAX_SERIES = 6
OTHER = "other"


@dataclass(frozen=True)
class Filters:
    """Which crashes count: a range of days (inclusive) and optionally a product, a version,
    an OS name and a process type."""

    since: datetime.date
    until: datetime.date
    product: str | None = None
    version: str | None = None
    os_name: str | None = None
    process_type: str | None = None

    def where(self, prefix: str = "") -> tuple[str, dict[str, Any]]:
        clauses = [f"date >= :{prefix}since", f"date <= :{prefix}until"]
        params: dict[str, Any] = {
            f"{prefix}since": day(self.since),
            f"{prefix}until": day(self.until),
        }
        for name in FILTERS:
            value = getattr(self, name)
            if value:
                clauses.append(f"{name} = :{prefix}{name}")
                params[f"{prefix}{name}"] = value
        return " AND ".join(clauses), params

    @property
    def unfiltered(self) -> bool:
        """Only a period: the day counts answer."""
        return not any(getattr(self, name) for name in FILTERS)

    @property
    def narrowed(self) -> tuple[str, str] | None:
        """The one filter besides the period (field, value), if there is exactly one: the
        signatures' day counts answer."""
        given = [(name, getattr(self, name)) for name in FILTERS if getattr(self, name)]
        return given[0] if len(given) == 1 else None

    def days(self) -> list[datetime.date]:
        count = (self.until - self.since).days + 1
        return [self.since + datetime.timedelta(days=n) for n in range(max(count, 0))]

    def previous(self) -> Filters:
        """The period of equal length just before this one."""
        length = self.until - self.since + datetime.timedelta(days=1)
        return dataclasses.replace(self, since=self.since - length, until=self.until - length)


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
    return distinct(index, "product")


def distinct(index: ReportIndex, field: str) -> list[str]:
    """The known values of a counted field (counts.FIELDS), from the day counts."""
    return [
        row[0]
        for row in index.query(
            "SELECT DISTINCT value FROM day_counts WHERE field = ? AND value <> '' "
            "AND crashes > 0 ORDER BY value",
            (field,),
        )
    ]


def _period(filters: Filters) -> dict[str, Any]:
    return {"since": day(filters.since), "until": day(filters.until)}


def total(index: ReportIndex, filters: Filters) -> int:
    if filters.unfiltered or filters.narrowed:
        field, value = filters.narrowed or (TOTAL_FIELD, None)
        sql = (
            "SELECT COALESCE(SUM(crashes), 0) FROM day_counts WHERE field = :field "
            "AND date >= :since AND date <= :until"
            + (" AND value = :value" if value is not None else "")
        )
        params = {**_period(filters), "field": field, "value": value}
        return int(index.query(sql, params)[0][0])
    where, params = filters.where()
    return index.query(f"SELECT COUNT(*) FROM crashes WHERE {where}", params)[0][0]


def _ranks(index: ReportIndex, filters: Filters, limit: int | None) -> list[tuple[str, int, int]]:
    if filters.unfiltered:  # summed from the day counts
        params = _period(filters)
        sql = (
            "SELECT value AS signature, SUM(crashes) AS crashes FROM day_counts "
            "WHERE field = 'signature' AND date >= :since AND date <= :until "
            "GROUP BY value HAVING SUM(crashes) > 0 ORDER BY crashes DESC, signature"
        )
    elif filters.narrowed:  # summed from the signatures' day counts of that value
        field, value = filters.narrowed
        params = {**_period(filters), "field": field, "value": value}
        sql = (
            "SELECT signature, SUM(crashes) AS crashes FROM signature_day_counts "
            "WHERE field = :field AND value = :value AND date >= :since AND date <= :until "
            "GROUP BY signature HAVING SUM(crashes) > 0 ORDER BY crashes DESC, signature"
        )
    else:
        where, params = filters.where()
        sql = (
            "SELECT COALESCE(signature, '') AS signature, COUNT(*) AS crashes FROM crashes "
            f"WHERE {where} GROUP BY COALESCE(signature, '') "
            "ORDER BY crashes DESC, signature"
        )
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return [(row[0], int(row[1]), rank) for rank, row in enumerate(index.query(sql, params), 1)]


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
    marks = ", ".join(f":s{n}" for n in range(len(signatures)))
    wanted = {f"s{n}": sig for n, sig in enumerate(signatures)}
    if filters.unfiltered:
        rows = index.query(
            "SELECT value, date, SUM(crashes) FROM day_counts WHERE field = 'signature' "
            f"AND date >= :since AND date <= :until AND value IN ({marks}) GROUP BY 1, 2",
            {**_period(filters), **wanted},
        )
    elif filters.narrowed:
        field, value = filters.narrowed
        rows = index.query(
            "SELECT signature, date, SUM(crashes) FROM signature_day_counts "
            "WHERE field = :field AND value = :value AND date >= :since AND date <= :until "
            f"AND signature IN ({marks}) GROUP BY 1, 2",
            {**_period(filters), **wanted, "field": field, "value": value},
        )
    else:
        where, params = filters.where()
        rows = index.query(
            "SELECT COALESCE(signature, '') AS signature, date, COUNT(*) FROM crashes "
            f"WHERE {where} AND COALESCE(signature, '') IN ({marks}) GROUP BY 1, 2",
            {**params, **wanted},
        )
    days = {d.isoformat(): n for n, d in enumerate(filters.days())}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for signature, date, crashes in rows:
        counts[signature][days[date]] = int(crashes)
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
    # Heading -> (value, crashes), most crashes first ('' for unknown), as BREAKDOWNS.
    breakdowns: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def signature_summary(index: ReportIndex, signature: str) -> SignatureSummary:
    """All-time figures of one signature: count, first and last seen, and its crashes by
    product, version, OS, CPU, process type, crash reason and channel.

    All from the signature's day counts (counts.py): a sum over its days and values, however
    many crashes it has."""
    params = {"signature": signature, "field": TOTAL_FIELD}
    crashes, first, last = index.query(
        "SELECT COALESCE(SUM(crashes), 0), MIN(date), MAX(date) FROM signature_day_counts "
        "WHERE signature = :signature AND field = :field AND crashes > 0",
        params,
    )[0]
    rows = index.query(
        "SELECT field, value, SUM(crashes) FROM signature_day_counts "
        "WHERE signature = :signature GROUP BY field, value HAVING SUM(crashes) > 0",
        params,
    )
    counted: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, value, count in rows:
        counted[name].append((value, int(count)))
    breakdowns = {
        heading: sorted(counted[column], key=lambda item: (-item[1], item[0]))
        for column, heading in BREAKDOWNS
    }
    return SignatureSummary(signature, int(crashes), first, last, breakdowns)


def signature_series(
    index: ReportIndex, filters: Filters, signature: str, split: str
) -> list[tuple[str, list[int]]]:
    """The signature's crashes per day split by ``split`` (a SPLITS key): the MAX_SERIES
    values with most crashes in the period, one series each, the rest added up as ``other``."""
    rows = index.query(
        "SELECT value, date, SUM(crashes) FROM signature_day_counts "
        "WHERE signature = :signature AND field = :field AND date >= :since "
        "AND date <= :until GROUP BY 1, 2",
        {**_period(filters), "signature": signature, "field": SPLITS[split]},
    )
    days = {d.isoformat(): n for n, d in enumerate(filters.days())}
    per_value: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for value, date, crashes in rows:
        per_value[value][days[date]] += int(crashes)
    ranked = sorted(
        (v for v in per_value if sum(per_value[v])), key=lambda v: (-sum(per_value[v]), v)
    )
    series = [(value or "(unknown)", per_value[value]) for value in ranked[:MAX_SERIES]]
    if len(ranked) > MAX_SERIES:
        rest = [sum(c) for c in zip(*(per_value[v] for v in ranked[MAX_SERIES:]), strict=True)]
        series.append((OTHER, rest))
    return series


def signature_crashes(
    index: ReportIndex, signature: str, page: int = 1, page_size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """One page of the signature's crashes, newest first."""
    clause, params = _signature_clause(signature)
    rows = index.query(
        "SELECT crash_id, date, product, version, os_pretty_version, process_type "
        f"FROM crashes WHERE {clause} "
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
