"""Super Search (API and page) against the processed crashes the storage holds."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from processor.reports.extract import crash_date


def search(web, params, **kwargs):
    return requests.get(web.url + "/api/SuperSearch/", params=params, timeout=30, **kwargs)


def crashes(web):
    """(crash id, date, signature, product, version) of every processed crash."""
    return [
        (
            cid,
            crash_date(cid, p).isoformat(),
            p.get("signature"),
            p.get("product"),
            p.get("version"),
        )
        for cid, p in web.data.processed.items()
    ]


def test_signature_search_with_facets_has_crash_stats_shape(web):
    signature = web.data.processed[web.data.crash_ids(example="linux-amd64")[0]]["signature"]
    answer = search(web, {"signature": signature, "_facets": "signature,product"})
    assert answer.status_code == 200
    result = answer.json()
    expected = sorted(c[0] for c in crashes(web) if c[2] == signature)
    assert result["total"] == len(expected)
    assert sorted(hit["uuid"] for hit in result["hits"]) == expected
    assert set(result["hits"][0]) == {"uuid", "date", "signature", "product", "version"}
    assert result["facets"]["signature"] == [{"term": signature, "count": len(expected)}]


def test_date_range_contains_and_facet_counts(web):
    """``~`` (contains), like ``$`` and ``^``, ignores ASCII case (SQLite's LIKE)."""
    params = [("date", ">=2026-11-08"), ("date", "<2026-11-13"), ("signature", "~Crash")]
    result = search(web, [*params, ("_facets", "product"), ("_results_number", "1000")]).json()
    expected = [
        c
        for c in crashes(web)
        if "2026-11-08" <= c[1] < "2026-11-13" and c[2] and "crash" in c[2].lower()
    ]
    assert result["total"] == len(expected) > 0
    products = Counter(c[3] for c in expected)
    assert {b["term"]: b["count"] for b in result["facets"]["product"]} == products


def test_negation_null_and_paging(web):
    everything = search(web, {"_results_number": 1000}).json()
    assert everything["total"] == len(web.data.processed)
    not_firefox = search(web, {"product": "!Firefox"}).json()
    assert not_firefox["total"] == sum(1 for c in crashes(web) if c[3] != "Firefox")
    page = search(web, {"_results_number": 5, "_results_offset": 5, "_sort": "uuid"}).json()
    assert [h["uuid"] for h in page["hits"]] == sorted(web.data.processed)[5:10]


@pytest.mark.parametrize(
    "params",
    [
        {"url": "~secret"},
        {"email": "jane@example.com"},
        {"user_comments": "~sample"},
        {"_facets": "url"},
        {"_facets": "email"},
        {"_columns": "user_comments"},
        {"_sort": "url"},
        {"_facets": "os_name,user_comments"},
        {"_columns": "cpu_arch,email"},
        {"_sort": "-process_type,url"},
        {"os_name": "Linux", "url": "__null__"},
        {"date": ">=yesterday"},
        {"_results_number": "100000"},
    ],
)
def test_protected_and_unknown_fields_are_refused(web, params):
    answer = search(web, params)
    assert answer.status_code == 400 and "error" in answer.json()
    page = requests.get(web.url + "/search/", params=params, timeout=30)
    assert page.status_code == 400
    for value in ("sample-secret", "jane@example.com", "sample comment"):
        assert value not in answer.text and value not in page.text


def test_search_page_keeps_the_query_in_the_url(web):
    page = requests.get(
        web.url + "/search/",
        params=[("product", "Thunderbird"), ("date", ">=2026-11-01")],
        timeout=30,
    )
    assert page.status_code == 200
    assert "1 crash reports" in page.text
    assert 'value="Thunderbird"' in page.text and 'value="&gt;=2026-11-01"' in page.text
    assert 'class="facet facet-signature"' in page.text
    crash_id = web.data.crash_ids(product="Thunderbird")[0]
    assert f'href="/report/{crash_id}"' in page.text


def test_signature_first_date(web):
    days: dict[str, list[str]] = {}
    for _, date, signature, _, _ in crashes(web):
        if signature:
            days.setdefault(signature, []).append(date)
    asked = sorted(days)[:3]
    answer = requests.get(
        web.url + "/api/SignatureFirstDate/",
        params=[("signatures", s) for s in [*asked, "never seen"]],
        timeout=30,
    ).json()
    assert answer["total"] == 3
    assert answer["hits"] == [
        {"signature": s, "first_date": min(days[s]), "last_date": max(days[s])} for s in asked
    ]
    refused = requests.get(web.url + "/api/SignatureFirstDate/", timeout=30)
    assert refused.status_code == 400


DIMENSION_FIELDS = ("os_name", "os_pretty_version", "cpu_arch", "process_type", "reason")


@pytest.mark.parametrize("field", [*DIMENSION_FIELDS, "release_channel"])
def test_search_and_facets_over_os_cpu_process_type_and_reason(web, field):
    """Each new column filters and facets as the processed crashes say (unknown: no term)."""
    values = Counter(p.get(field) or None for p in web.data.processed.values())
    assert len(values) >= 2, values  # the samples differ here: the counts below could be wrong
    result = search(web, {"_facets": field, "_results_number": 0}).json()
    assert {b["term"]: b["count"] for b in result["facets"][field]} == values
    value, count = next((v, c) for v, c in values.most_common() if v)
    hits = search(web, {field: value, "_columns": f"uuid,{field}", "_results_number": 100})
    hits = hits.json()
    assert hits["total"] == count
    expected = sorted(cid for cid, p in web.data.processed.items() if p.get(field) == value)
    assert sorted(h["uuid"] for h in hits["hits"]) == expected
    assert {h[field] for h in hits["hits"]} == {value}
    others = search(web, {field: f"!{value}"}).json()["total"]
    assert others == len(web.data.processed) - count


def test_crash_stats_platform_names_and_combined_filters(web):
    processed = web.data.processed.values()
    result = search(web, {"platform": "Windows NT", "_facets": "platform_pretty_version"}).json()
    windows = [p for p in processed if p.get("os_name") == "Windows NT"]
    assert result["total"] == len(windows) > 0
    assert {b["term"]: b["count"] for b in result["facets"]["platform_pretty_version"]} == (
        Counter(p["os_pretty_version"] for p in windows)
    )
    params = {"os_name": "Linux", "process_type": "content", "reason": "~segv", "cpu_arch": "amd64"}
    expected = [
        p
        for p in processed
        if p.get("os_name") == "Linux"
        and p.get("process_type") == "content"
        and "segv" in (p.get("reason") or "").lower()
        and p.get("cpu_arch") == "amd64"
    ]
    assert search(web, params).json()["total"] == len(expected) > 0


@pytest.mark.parametrize(
    "sort",
    ["date", "-date", "signature", "-os_name", "process_type", "-reason", "cpu_arch,-uuid"],
)
def test_results_sort_by_any_column(web, sort):
    columns = "uuid,date,signature,os_name,process_type,reason,cpu_arch"
    hits = search(web, {"_sort": sort, "_columns": columns, "_results_number": 100}).json()["hits"]
    assert len(hits) == len(web.data.processed)
    keys = [*sort.split(","), "uuid"]  # ties by crash id, as the search breaks them

    def value(hit, key):
        v = hit[key.lstrip("-")]
        return "" if v is None else v

    expected = list(hits)
    for key in reversed(keys):  # a stable sort per key, last key first
        expected.sort(key=lambda h, k=key: value(h, k), reverse=key.startswith("-"))
    # Unknown values (NULL) come first ascending and last descending, on both backends.
    assert [h["uuid"] for h in hits] == [h["uuid"] for h in expected]


def test_missing_symbols_search_finds_the_crashes_lacking_a_module(web):
    (plain,) = web.data.crash_ids(symbols="plain")
    modules = web.data.processed[plain]["symbolication"]["missing_modules"]
    module = next(m for m in modules if m["filename"] == "test_app.exe")
    expected = sorted(
        cid
        for cid, p in web.data.processed.items()
        if any(
            m.get("filename") == "test_app.exe" and m.get("debug_id") == module["debug_id"]
            for m in (p.get("symbolication") or {}).get("missing_modules") or []
        )
    )
    result = search(
        web, {"missing_symbols": "test_app.exe", "missing_debug_id": module["debug_id"]}
    ).json()
    assert sorted(h["uuid"] for h in result["hits"]) == expected and plain in expected
