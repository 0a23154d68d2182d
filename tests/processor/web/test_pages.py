"""The crash browser's pages and API against the stored crashes and the report index."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from html import unescape

import requests

from processor.web.tokens import REPROCESS, VIEW_PROTECTED


def get(web, path, **kwargs):
    return requests.get(web.url + path, timeout=30, **kwargs)


def test_top_crashers_rank_the_signatures_of_the_last_week(web):
    page = get(web, "/?days=14&until=2026-11-14")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    counts = Counter(p.get("signature") for p in web.data.processed.values())
    top_count = counts.most_common(1)[0][1]
    rows = re.findall(
        r'<tr><td class="num">(\d+)</td>.*?signature=([^"]*)".*?<td class="num">(\d+)</td>',
        page.text,
    )
    assert rows[0][0] == "1" and int(rows[0][2]) == top_count
    assert f"{len(web.data.processed)} crash reports" in page.text
    assert page.text.count('<svg class="spark"') == len(counts)


def test_top_crashers_filter_by_product(web):
    page = get(web, "/", params={"product": "Thunderbird", "days": 30, "until": "2026-11-14"})
    assert "1 crash reports" in page.text


def test_signature_page_lists_its_crashes_and_links_to_them(web):
    signature = web.data.processed[web.data.crash_ids(example="linux-amd64")[0]]["signature"]
    page = get(web, "/signature/", params={"signature": signature})
    assert page.status_code == 200
    expected = sorted(
        cid for cid, p in web.data.processed.items() if p.get("signature") == signature
    )
    linked = sorted(re.findall(r'href="/report/([0-9a-f-]{36})"', page.text))
    assert linked == expected
    assert '<svg class="chart"' in page.text and "<rect" in page.text
    assert get(web, "/signature/", params={"signature": "no such thing"}).status_code == 404


def test_report_page_shows_the_crashing_thread(web):
    crash_id = web.data.crash_ids(example="windows-x86-test-app", ipc_name=None, symbols="code-id")[
        0
    ]
    processed = web.data.processed[crash_id]
    page = get(web, f"/report/{crash_id}")
    assert page.status_code == 200
    text = unescape(page.text)
    assert processed["signature"] in text
    thread = processed["json_dump"]["threads"][processed["crashing_thread"]]
    functions = [f["function"] for f in thread["frames"] if f.get("function")]
    assert functions and all(function in text for function in functions)
    for module in processed["json_dump"]["modules"]:
        assert module["filename"] in text
    assert "processed JSON" in text and '"crashproc_version"' in text
    assert get(web, "/report/not-a-crash").status_code == 400
    unknown = "00000000" + crash_id[8:]
    assert get(web, f"/report/{unknown}").status_code == 404


def test_report_page_names_why_symbols_are_missing(web):
    crash_id = web.data.crash_ids(example="no-debug-id", symbols="plain")[0]
    text = get(web, f"/report/{crash_id}").text
    reasons = {
        m["reason"] for m in web.data.processed[crash_id]["symbolication"]["missing_modules"]
    }
    assert reasons and all(f"missing: {reason}" in text for reason in reasons)


def test_processed_crash_api_is_the_public_copy_without_a_token(web):
    crash_id = web.data.crash_ids(example="linux-amd64")[0]
    storage = web.data.storage()
    public = storage.load_processed_crash(crash_id, public=True)
    full = storage.load_processed_crash(crash_id)
    answer = get(web, "/api/ProcessedCrash/", params={"crash_id": crash_id})
    assert answer.status_code == 200 and answer.json() == public
    viewer = web.tokens.add("api-viewer", [VIEW_PROTECTED])
    answer = get(
        web, "/api/ProcessedCrash/", params={"crash_id": crash_id}, headers={"Auth-Token": viewer}
    )
    assert answer.json() == full
    reprocessor = web.tokens.add("api-reprocessor", [REPROCESS])
    answer = get(
        web,
        "/api/ProcessedCrash/",
        params={"crash_id": crash_id},
        headers={"Auth-Token": reprocessor},
    )
    assert answer.json() == public
    assert get(web, "/api/ProcessedCrash/", params={"crash_id": "x"}).status_code == 400


def test_raw_crash_api_needs_view_protected(web):
    crash_id = web.data.crash_ids(example="linux-amd64")[0]
    raw = web.data.storage().load_raw_crash(crash_id)
    assert get(web, "/api/RawCrash/", params={"crash_id": crash_id}).status_code == 403
    token = web.tokens.add("raw-viewer", [VIEW_PROTECTED])
    answer = get(
        web, "/api/RawCrash/", params={"crash_id": crash_id}, headers={"Auth-Token": token}
    )
    assert answer.status_code == 200 and answer.json() == raw
    web.tokens.revoke("raw-viewer")
    answer = get(
        web, "/api/RawCrash/", params={"crash_id": crash_id}, headers={"Auth-Token": token}
    )
    assert answer.status_code == 403
    wrong = get(
        web, "/api/RawCrash/", params={"crash_id": crash_id}, headers={"Auth-Token": token[::-1]}
    )
    assert wrong.status_code == 403


# What the sample crashes in examples/crashes carry in their protected annotations.
PROTECTED_VALUES = ("sample-secret", "jane@example.com", "sample comment", "example.com/private")


def test_no_protected_value_without_the_permission(web, caplog):
    caplog.set_level(logging.DEBUG)
    reprocess_only = web.tokens.add("leak-check", [REPROCESS])
    answers = [get(web, "/"), get(web, "/?days=30&until=2026-11-14")]
    everything = {"_facets": "signature,product,version,date", "_results_number": 1000}
    answers.append(get(web, "/api/SuperSearch/", params=everything))
    answers.append(get(web, "/search/", params={"signature": "~a", **everything}))
    signatures = {p.get("signature") or "" for p in web.data.processed.values()}
    answers += [get(web, "/signature/", params={"signature": s}) for s in signatures]
    for crash_id in [*web.data.processed, *web.data.unprocessed]:
        answers.append(get(web, f"/report/{crash_id}"))
        for headers in ({}, {"Auth-Token": reprocess_only}, {"Auth-Token": "guess"}):
            for api in ("/api/ProcessedCrash/", "/api/RawCrash/"):
                answers.append(get(web, api, params={"crash_id": crash_id}, headers=headers))
    # The stored crashes do hold those values: the check below could fail.
    assert any("sample-secret" in json.dumps(p) for p in web.data.processed.values())
    assert all(a.status_code in (200, 403, 404) for a in answers)
    for answer in answers:
        body = unescape(answer.text)
        for value in PROTECTED_VALUES:
            assert value not in body, (answer.url, value)
    # Nor in a log line (the access log among them) of serving all that.
    assert any(record.name == "webstack.access" for record in caplog.records)
    for record in caplog.records:
        for value in PROTECTED_VALUES:
            assert value not in record.getMessage(), record.name
