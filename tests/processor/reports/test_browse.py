"""Top crashers summed from the day counts equal the crashes counted one by one (both
backends): unfiltered, narrowed by one filter, and by two (which reads the crashes)."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from processor.reports import browse
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
