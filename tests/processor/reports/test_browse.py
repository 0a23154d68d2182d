"""Answers summed from the day counts equal the crashes counted one by one (both backends):
top crashers unfiltered, narrowed by one filter, and by two (which reads the crashes); Super
Search narrowed to values of one field, faceted by every other (the pair counts), and with two
filters or an operator (one pass over the matching crashes for the total and every facet)."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable

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
    query = _assert_search_counts(
        report_storage, {field: values}, lambda p: _value(p, field) in wanted, some=None
    )
    assert search._narrowed(query) is not None  # the counts answer it, not the crashes


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("os_name", "!Linux"),
        ("os_name", "!!Linux"),  # the same value twice: still one negation
        ("process_type", "!__null__"),
        ("cpu_arch", "!=amd64"),
        ("reason", "!SIGSEGV"),  # crashes without a reason are kept
        ("product", "!nothing is this product"),
        ("signature", None),  # every crash but the most frequent signature's
    ],
)
def test_search_with_one_negated_value_equals_the_crashes_counted(report_storage, field, value):
    processed = report_storage.processed
    if value is None:
        value = "!" + Counter(p.get("signature") for p in processed.values()).most_common(1)[0][0]
    values = [value[1:], value[1:]] if value.startswith("!!") else [value]
    query = _assert_search_counts(
        report_storage,
        {field: values},
        lambda p: _matches(_value(p, field), values[0]),
        some=True,
    )
    assert search._narrowed(query) is not None  # the counts answer it, not the crashes


def _matches(value: str | None, condition: str) -> bool:
    """One filter value of Crash Stats's language, decided on one crash's value (the
    reference the search's SQL is held to)."""
    negate = condition.startswith("!")
    condition = condition.removeprefix("!")
    if condition == "__null__":
        matched = value is None
    else:
        op = condition[:1] if condition[:1] in ("=", "~", "$", "^") else "="
        wanted = condition.removeprefix(op)
        if op == "=":
            matched = value == wanted
        else:
            have, wanted = (value or "").lower(), wanted.lower()
            test = {"~": have.__contains__, "$": have.startswith, "^": have.endswith}[op]
            matched = value is not None and test(wanted)
    return matched != negate


@pytest.mark.parametrize(
    ("filters", "some"),
    [
        ({"os_name": ["Windows NT"], "cpu_arch": ["x86"]}, True),
        ({"platform": ["Linux"], "product": ["Firefox", "__null__"]}, True),
        ({"os_name": ["!Linux", "!Windows NT"]}, True),  # ORed: every crash
        ({"os_name": ["!Windows NT"], "process_type": ["!__null__"]}, True),
        ({"signature": ["~ipc"]}, True),
        ({"signature": ["$LIBSYSTEM", "^.EXE", "$empty:"], "version": ["!157.0"]}, True),
        ({"product": ["~o"], "os_name": ["Windows NT", "Linux"], "cpu_arch": ["!=amd64"]}, True),
        ({"reason": ["!SIGSEGV"], "os_name": ["!Linux"]}, True),  # a crash without a reason
        ({"reason": ["!~access"]}, True),
        ({"os_name": ["Mac OS X"], "reason": ["nothing has this reason"]}, False),
    ],
)
@pytest.mark.parametrize("period", [PERIOD, (datetime.date(2026, 11, 5),) * 2])
def test_search_with_two_filters_or_an_operator_equals_the_crashes_counted(
    report_storage, filters, some, period
):
    def keep(processed: dict) -> bool:
        return all(
            any(_matches(_value(processed, name), v) for v in values)
            for name, values in filters.items()
        )

    # The one day holds a tenth of the crashes: read through the date index, not the table.
    query = _assert_search_counts(
        report_storage, filters, keep, some=some if period == PERIOD else None, period=period
    )
    assert search._narrowed(query) is None  # the crashes are counted, not summed


def _assert_search_counts(
    report_storage,
    filters: dict[str, list[str]],
    keep: Callable[[dict], bool],
    some: bool | None,
    period: tuple[datetime.date, datetime.date] = PERIOD,
) -> search.Query:
    """Search over ``period`` with ``filters`` and every facet; its total, hits and facets equal
    the processed crashes ``keep`` takes counted one by one (``some``: that there are any)."""
    kept = {
        cid: p
        for cid, p in report_storage.processed.items()
        if period[0] <= crash_date(cid, p) <= period[1] and keep(p)
    }
    if some is not None:
        assert bool(kept) == some
    params = [("date", f">={period[0]}"), ("date", f"<={period[1]}")]
    params += [(name, value) for name, values in filters.items() for value in values]
    params += [("_facets", ",".join(FACETS)), ("_facets_size", "1000")]
    query = search.parse_query(params)
    cut = search.parse_query([*params, ("_facets_size", "2")])
    with ReportIndex(report_storage.index_path, create=False) as index:
        result = search.search(index, query)
        first = search.search(index, cut)["facets"]
    assert result["total"] == len(kept)
    assert len(result["hits"]) == min(len(kept), search.DEFAULT_RESULTS)
    assert {hit["uuid"] for hit in result["hits"]} <= set(kept)
    assert list(result["facets"]) == list(FACETS)
    for facet in FACETS:
        if facet == "date":
            expected = Counter(crash_date(cid, p).isoformat() for cid, p in kept.items())
        else:
            expected = Counter(_value(p, facet) for p in kept.values())
        terms = result["facets"][facet]
        assert {t["term"]: t["count"] for t in terms} == expected, facet
        # Most crashes first, ties by term (unknown first); _facets_size keeps the first.
        assert terms == sorted(terms, key=lambda t: (-t["count"], t["term"] or "")), facet
        assert first[facet] == terms[:2], facet
    return query


def test_index_reads_are_the_crashes_in_the_date_range_or_of_the_exact_values(report_storage):
    """What decides whether a search reads the crashes through an index or straight through
    the table (SQLite): the crashes each index would read, from the day counts."""
    processed = report_storage.processed
    dated = [(cid, p) for cid, p in processed.items() if crash_date(cid, p) >= PERIOD[0]]
    linux = sum(p.get("os_name") == "Linux" for _, p in dated)
    cases = [
        ([], len(dated)),
        ([("os_name", "Linux")], len(dated)),
        ([("signature", "crash"), ("signature", "=crash-client")], linux + 1),
        ([("signature", "~crash"), ("product", "MozillaVPN")], 0),  # none in the period
        ([("product", "Firefox"), ("product", "Thunderbird")], len(dated)),
    ]
    with ReportIndex(report_storage.index_path, create=False) as index:
        for filters, reads in cases:
            query = search.parse_query([("date", f">={PERIOD[0]}"), *filters])
            dated_where, params = search._where(index, {"date": query.filters["date"]})
            assert search._index_reads(index, query, dated_where, params) == (
                reads,
                len(processed),
            ), filters
