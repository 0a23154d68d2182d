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
