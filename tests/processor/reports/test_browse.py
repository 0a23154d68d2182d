"""Answers summed from the day counts equal the crashes counted one by one (both backends):
top crashers unfiltered, narrowed by one filter, and by two (which reads the crashes); Super
Search narrowed to values of one field, faceted by every other (the pair counts)."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from processor.reports import browse, search
from processor.reports.extract import crash_date
from processor.reports.index import ReportIndex

PERIOD = (datetime.date(2026, 11, 3), datetime.date(2026, 11, 12))


@pytest.mark.parametrize(
    "narrow",
    [
        {},
        {"os_name": "Linux"},
        {"product": "Firefox"},
        {"process_type": "parent"},
        {"version": "157.0"},
        {"os_name": "Windows NT", "version": "157.0"},
    ],
)
def test_top_crashers_equal_the_crashes_counted(report_storage, narrow):
    filters = browse.Filters(*PERIOD, **narrow)
    days = filters.days()
    kept = [
        (cid, p)
        for cid, p in report_storage.processed.items()
        if PERIOD[0] <= crash_date(cid, p) <= PERIOD[1]
        and all(p.get(k) == v for k, v in narrow.items())
    ]
    counts = Counter(p.get("signature") or "" for _, p in kept)
    with ReportIndex(report_storage.index_path, create=False) as index:
        rows = browse.top_crashers(index, filters)
        assert browse.total(index, filters) == len(kept) > 0
    assert [(r.signature or "", r.crashes) for r in rows] == sorted(
        counts.items(), key=lambda item: (-item[1], item[0])
    )
    for row in rows:
        per_day = Counter(
            crash_date(cid, p) for cid, p in kept if (p.get("signature") or "") == row.signature
        )
        assert row.per_day == [per_day[d] for d in days]
        assert row.percent == round(100.0 * row.crashes / len(kept), 2)


FACETS = (
    "signature",
    "product",
    "version",
    "date",
    "os_name",
    "os_version",
    "os_pretty_version",
    "cpu_arch",
    "process_type",
    "reason",
    "release_channel",
    "platform_pretty_version",
)


def _value(processed: dict, field: str) -> str | None:
    return processed.get(search.ALIASES.get(field, field)) or None


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("os_name", ["Windows NT"]),
        ("platform", ["Linux", "=Windows NT"]),
        ("process_type", ["parent"]),
        ("cpu_arch", ["amd64"]),
        ("product", ["Firefox"]),
        ("version", ["__null__"]),
        ("signature", None),  # the most frequent signature
        ("reason", ["nothing has this reason"]),
    ],
)
def test_search_narrowed_to_one_field_equals_the_crashes_counted(report_storage, field, values):
    processed = report_storage.processed
    if values is None:
        values = [Counter(p.get("signature") for p in processed.values()).most_common(1)[0][0]]
    wanted = {None if v == "__null__" else v.removeprefix("=") for v in values}
    kept = {
        cid: p
        for cid, p in processed.items()
        if PERIOD[0] <= crash_date(cid, p) <= PERIOD[1] and _value(p, field) in wanted
    }
    params = [("date", f">={PERIOD[0]}"), ("date", f"<={PERIOD[1]}")]
    params += [(field, value) for value in values]
    params += [("_facets", ",".join(FACETS)), ("_facets_size", "1000")]
    query = search.parse_query(params)
    assert search._narrowed(query) is not None  # the counts answer it, not the crashes
    with ReportIndex(report_storage.index_path, create=False) as index:
        result = search.search(index, query)
    assert result["total"] == len(kept)
    assert len(result["hits"]) == min(len(kept), search.DEFAULT_RESULTS)
    for facet in FACETS:
        if facet == "date":
            expected = Counter(crash_date(cid, p).isoformat() for cid, p in kept.items())
        else:
            expected = Counter(_value(p, facet) for p in kept.values())
        terms = result["facets"][facet]
        assert {t["term"]: t["count"] for t in terms} == expected, facet
        # Most crashes first, ties by term (unknown first).
        assert terms == sorted(terms, key=lambda t: (-t["count"], t["term"] or "")), facet
