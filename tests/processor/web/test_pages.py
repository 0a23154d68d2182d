"""The crash browser's pages and API against the stored crashes and the report index."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from html import unescape
from urllib.parse import parse_qsl, urlsplit

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


def test_top_crashers_filter_by_os_and_process_type(web):
    for params, keep in (
        ({"os_name": "Linux"}, lambda p: p.get("os_name") == "Linux"),
        ({"process_type": "parent"}, lambda p: p.get("process_type") == "parent"),
        (
            {"os_name": "Windows NT", "process_type": "utility"},
            lambda p: p.get("os_name") == "Windows NT" and p.get("process_type") == "utility",
        ),
    ):
        page = get(web, "/", params={**params, "days": 30, "until": "2026-11-14"})
        kept = [p for p in web.data.processed.values() if keep(p)]
        assert kept and f"{len(kept)} crash reports" in page.text, params
        ranked = re.findall(r'<td class="signature"><a href="/signature/\?signature=', page.text)
        assert len(ranked) == len({p.get("signature") for p in kept})
        for name, value in params.items():  # the form shows the choice
            select = page.text.split(f'<select name="{name}">', 1)[1].split("</select>", 1)[0]
            assert f'<option value="{value}" selected>' in select


def breakdown(page: str, heading: str) -> dict[str, int]:
    """A breakdown table of the signature page as {value: crashes}."""
    cls = "breakdown-" + heading.lower().replace(" ", "-")
    table = page.split(f'class="breakdown {cls}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td>([^<]*)</td><td class="num">(\d+)</td>', table)
    return {unescape(value): int(count) for value, count in rows}


def varied_signature(web) -> str:
    """The signature whose crashes differ most in version (then in OS)."""
    crashes: dict[str, list[dict]] = {}
    for p in web.data.processed.values():
        crashes.setdefault(p["signature"], []).append(p)
    return max(
        crashes,
        key=lambda s: (
            len({p.get("version") for p in crashes[s]}),
            len({p.get("os_pretty_version") for p in crashes[s]}),
            s,
        ),
    )


def test_signature_page_breaks_its_crashes_down(web):
    signature = varied_signature(web)
    crashes = [p for p in web.data.processed.values() if p.get("signature") == signature]
    page = get(web, "/signature/", params={"signature": signature}).text
    for heading, field in (
        ("Product", "product"),
        ("Version", "version"),
        ("OS", "os_pretty_version"),
        ("CPU", "cpu_arch"),
        ("Process type", "process_type"),
        ("Crash reason", "reason"),
        ("Release channel", "release_channel"),
    ):
        expected = Counter(p.get(field) or "(unknown)" for p in crashes)
        assert breakdown(page, heading) == expected, heading
    assert len(breakdown(page, "Version")) >= 2  # the split chart below has two series


def test_signature_chart_split_by_version_or_os(web):
    signature = varied_signature(web)
    crashes = [p for p in web.data.processed.values() if p.get("signature") == signature]
    for split, field in (("version", "version"), ("os", "os_pretty_version")):
        page = get(web, "/signature/", params={"signature": signature, "chart": split}).text
        assert '<svg class="chart stacked"' in page
        bars = re.findall(r"<title>(\d{4}-\d\d-\d\d) ([^:<]*): (\d+)</title>", page)
        drawn = Counter()
        for day, value, count in bars:
            drawn[(day, unescape(value))] += int(count)
        expected = Counter((p["date_processed"][:10], p.get(field) or "(unknown)") for p in crashes)
        assert drawn == expected, split
        legend = re.findall(r'<li><i style="background:#[0-9a-f]{6}"></i>([^<]*)</li>', page)
        assert sorted(map(unescape, legend)) == sorted({v for _, v in expected})
    plain = get(web, "/signature/", params={"signature": signature, "chart": "nonsense"}).text
    assert '<svg class="chart"' in plain and "stacked" not in plain


def test_missing_symbols_page_links_each_module_to_its_crashes(web):
    from tests.processor.reports.expected import missing_counts

    page = get(web, "/missing-symbols/", params={"days": 30, "until": "2026-11-14"})
    assert page.status_code == 200
    expected = missing_counts(web.data.processed)
    links = re.findall(
        r'<td class="module"><a href="([^"]*)">([^<]*)</a></td>.*?'
        r'<td class="num">(\d+)</td><td class="num">[\d.]+</td></tr>',
        page.text,
    )
    assert len(links) == len(expected) > 3
    assert sorted(int(n) for _, _, n in links) == sorted(expected.values())
    lacking = {cid: set(missing_counts({cid: p})) for cid, p in web.data.processed.items()}
    for href, module, _ in links:
        target = urlsplit(unescape(href))
        asked = dict(parse_qsl(target.query))
        debug_id = asked.get("missing_debug_id", "=")[1:] or None
        results = get(web, f"{target.path}?{target.query}&_results_number=100")
        found = set(re.findall(r'href="/report/([0-9a-f-]{36})"', results.text))
        # The crashes lacking that module's symbols (by file name, and debug id if it has one).
        assert found == {
            cid
            for cid, keys in lacking.items()
            if any(
                k[0] == unescape(module) and (debug_id is None or k[3] == debug_id) for k in keys
            )
        }, href
        assert found


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
    dimensions = "os_name,os_pretty_version,cpu_arch,process_type,reason,release_channel"
    for params in (
        {"_facets": dimensions, "_columns": dimensions, "_results_number": 1000},
        {"_facets": "platform,platform_version", "platform": "~n", "_sort": "-reason"},
        {"missing_symbols": "~.", "_facets": dimensions},
    ):
        answers.append(get(web, "/api/SuperSearch/", params=params))
        answers.append(get(web, "/search/", params=params))
    answers.append(get(web, "/missing-symbols/", params={"days": 60, "until": "2026-11-14"}))
    answers.append(get(web, "/?os_name=Linux&process_type=content&days=30&until=2026-11-14"))
    signatures = {p.get("signature") or "" for p in web.data.processed.values()}
    answers += [
        get(web, "/signature/", params={"signature": s, "chart": chart})
        for s in signatures
        for chart in ("", "version", "os")
    ]
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
