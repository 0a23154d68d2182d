"""missing-symbols and signatures: counts, ranks, filters and the text/md/csv/json formats."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from processor.cli import run
from processor.reports.index import ReportIndex
from processor.reports.model import Column, Report
from processor.reports.queries import MISSING_SYMBOLS, SIGNATURES, Period, report
from processor.reports.render import printable, render_csv, render_markdown, render_text
from tests.processor.reports.conftest import AFTER, BEFORE
from tests.processor.reports.expected import missing_counts, ranking, signature_counts

MISSING_KEYS = ("module", "version", "debug_file", "debug_id", "code_id", "reason")


@pytest.fixture
def index(report_storage):
    with ReportIndex(report_storage.index_path, create=False) as index:
        yield index


def run_report(report_storage, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = run(["report", *argv, "--index", str(report_storage.index_path)], out=out)
    return status, out.getvalue()


def signature_rows(result: Report) -> list[tuple]:
    return [(r["rank"], r["signature"], r["crashes"]) for r in result.rows]


def expected_signature_rows(counts) -> list[tuple]:
    return [(rank, sig, counts[sig]) for rank, sig in enumerate(ranking(counts), 1)]


@pytest.mark.parametrize(
    "period",
    [Period(), Period(*BEFORE), Period(*AFTER), Period(since=AFTER[0]), Period(until=BEFORE[1])],
    ids=["all", "before", "after", "since", "until"],
)
def test_signatures_match_the_processed_crashes(report_storage, index, period):
    counts = signature_counts(report_storage.processed, since=period.since, until=period.until)
    result = report(index, SIGNATURES, period)
    assert signature_rows(result) == expected_signature_rows(counts)
    total = sum(counts.values())
    for row in result.rows:
        assert row["percent"] == round(100 * row["crashes"] / total, 2)
    assert f"{total} crash reports" in result.context[0]


def test_date_filters_are_inclusive_days(report_storage, index):
    (first,) = report_storage.crash_ids(example="macos-inlines")
    day = report_storage.variants[first].day
    result = report(index, SIGNATURES, Period(day, day))
    on_that_day = [v for v in report_storage.variants.values() if v.day == day]
    assert sum(r["crashes"] for r in result.rows) == len(on_that_day) == 1
    assert result.rows[0]["signature"] == report_storage.processed[first]["signature"]
    assert report(index, SIGNATURES, Period(datetime.date(2030, 1, 1))).rows == []


def test_module_filter_counts_crashes_with_the_module_on_the_stack(report_storage, index):
    counts = signature_counts(report_storage.processed, module="kernel32.dll")
    result = report(index, SIGNATURES, module="KERNEL32.dll")  # matched without case
    assert signature_rows(result) == expected_signature_rows(counts)
    windows = {"windows-x86-test-app", "oom-with-memory-report", "no-debug-id"}
    assert sum(counts.values()) == sum(
        v.example in windows for v in report_storage.variants.values()
    )
    total = sum(counts.values())
    assert all(r["percent"] == round(100 * r["crashes"] / total, 2) for r in result.rows)
    # Only before the fix, and a module on no stack.
    before = signature_counts(
        report_storage.processed, module="kernel32.dll", since=BEFORE[0], until=BEFORE[1]
    )
    assert signature_rows(report(index, SIGNATURES, Period(*BEFORE), "kernel32.dll")) == (
        expected_signature_rows(before)
    )
    assert report(index, SIGNATURES, module="no-such-module.dll").rows == []


@pytest.mark.parametrize(
    "period", [Period(), Period(*BEFORE), Period(*AFTER)], ids=["all", "before", "after"]
)
def test_missing_symbols_match_the_processed_crashes(report_storage, index, period):
    counts = missing_counts(report_storage.processed, since=period.since, until=period.until)
    result = report(index, MISSING_SYMBOLS, period)
    rows = [(tuple(r[k] for k in MISSING_KEYS), r["crashes"]) for r in result.rows]
    assert rows == [(key, counts[key]) for key in ranking(counts)]
    assert [r["rank"] for r in result.rows] == list(range(1, len(rows) + 1))


def test_missing_symbols_reasons(report_storage, index):
    rows = report(index, MISSING_SYMBOLS).rows
    reasons = {r["reason"] for r in rows}
    assert reasons == {"not-found", "corrupt-symbols", "code-info-lookup-failed", "not-looked-up"}
    top = rows[0]
    windows = [
        p
        for cid, p in report_storage.processed.items()
        if any(
            m["filename"] == "kernel32.dll" and m["reason"] == "not-found"
            for m in (p.get("symbolication") or {}).get("missing_modules", [])
        )
    ]
    assert (top["module"], top["reason"], top["crashes"]) == (
        "kernel32.dll",
        "not-found",
        len(windows),
    )
    (failed,) = [r for r in rows if r["reason"] == "code-info-lookup-failed"]
    assert (failed["module"], failed["code_id"]) == ("test_app.exe", "45d35f6c2d000")
    assert not (failed["debug_id"] or "").strip("0")  # the dump's null debug id


def test_top_limits_rows(index):
    assert len(report(index, MISSING_SYMBOLS, top=3).rows) == 3
    full = report(index, SIGNATURES).rows
    assert report(index, SIGNATURES, top=2).rows == full[:2]


@pytest.mark.parametrize("name", ["signatures", "missing-symbols"])
def test_json_format(report_storage, name):
    status, text = run_report(report_storage, name, "--format", "json")
    assert status == 0
    document = json.loads(text)
    assert list(document) == ["rows"]
    with ReportIndex(report_storage.index_path, create=False) as index:
        expected = report(index, SIGNATURES if name == "signatures" else MISSING_SYMBOLS)
    assert document["rows"] == expected.rows
    assert all(list(row) == [c.key for c in expected.columns] for row in document["rows"])


@pytest.mark.parametrize("name", ["signatures", "missing-symbols"])
def test_csv_format(report_storage, name):
    status, text = run_report(report_storage, name, "--format", "csv", "--since", "2026-11-08")
    assert status == 0
    with ReportIndex(report_storage.index_path, create=False) as index:
        kind = SIGNATURES if name == "signatures" else MISSING_SYMBOLS
        expected = report(index, kind, Period(since=datetime.date(2026, 11, 8)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(expected.rows) > 0
    for got, want in zip(rows, expected.rows, strict=True):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}


def test_text_format(report_storage):
    status, text = run_report(
        report_storage, "signatures", "--since", "2026-11-08", "--until", "2026-11-14"
    )
    assert status == 0
    lines = text.splitlines()
    assert lines[0] == "Signatures"
    assert lines[1].startswith("2026-11-08..2026-11-14: ")
    header = lines[3].split()
    assert header[:2] == ["rank", "signature"]
    counts = signature_counts(report_storage.processed, since=AFTER[0], until=AFTER[1])
    body = lines[5:]
    assert len(body) == len(counts)
    for line, signature in zip(body, ranking(counts), strict=True):
        assert (signature if len(signature) <= 80 else signature[:79] + "…") in line
        assert line.split()[0] == str(body.index(line) + 1)
        assert line.split()[-2] == str(counts[signature])
    # Columns line up: every count ends where the header's count column ends.
    end = lines[3].index("crashes") + len("crashes")
    assert all(line[end - 1].isdigit() for line in body)


def test_markdown_format(report_storage):
    status, text = run_report(report_storage, "signatures", "--format", "md")
    assert status == 0
    lines = text.splitlines()
    assert lines[0] == "## Signatures"
    table = [line for line in lines if line.startswith("|")]
    counts = signature_counts(report_storage.processed)
    assert len(table) == 2 + len(counts)
    assert table[1] == "|---:|---|---:|---:|"
    escaped = (
        "(anonymous namespace)::CrashFunction \\| "
        'IPC\\_Message\\_Name=PContent::Msg\\_\\<Async\\>\\&"quoted"'
    )
    assert any(escaped in line for line in table)
    # Every row has the header's number of cells: escaped pipes do not split them.
    assert {line.replace("\\|", "").count("|") for line in table} == {5}


def test_no_rows_and_usage_errors(report_storage, capsys):
    status, text = run_report(report_storage, "signatures", "--since", "2031-01-01")
    assert status == 0 and "(no rows)" in text
    status, _ = run_report(
        report_storage, "signatures", "--since", "2026-11-09", "--until", "2026-11-01"
    )
    assert status == 2 and "is after --until" in capsys.readouterr().err
    for argv in (["--top", "0"], ["--since", "11/01/2026"], ["--format", "pdf"]):
        with pytest.raises(SystemExit) as exit_info:
            run_report(report_storage, "signatures", *argv)
        assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        run_report(report_storage, "missing-symbols", "--module", "xul.dll")


def test_missing_index_names_the_reindex_command(tmp_path, capsys):
    missing = tmp_path / "none.sqlite"
    status = run(["report", "signatures", "--index", str(missing), "--storage", "s3://b/p"])
    assert status == 1
    err = capsys.readouterr().err
    assert f"crashproc report reindex --storage s3://b/p --index {missing}" in err
    assert not missing.exists()


def test_missing_index_over_an_empty_storage_says_how_to_fill_it(tmp_path, capsys):
    """As after `make demo`, which processes without storing anything."""
    status = run(["report", "signatures", "--storage", str(tmp_path / "crashes")])
    assert status == 1
    err = capsys.readouterr().err
    assert f"no crashes stored in {tmp_path / 'crashes'} yet" in err
    assert "`crashproc submit CRASH_DIR...` then `crashproc daemon --once`" in err


def hostile_report() -> Report:
    return Report(
        title="t",
        columns=[Column("signature", "signature"), Column("crashes", "crashes", "count")],
        rows=[
            {"signature": '=HYPERLINK("http://evil")', "crashes": 1},
            {"signature": "-[NSView _setWindow:]", "crashes": 2},
            {"signature": "a\x1b[31mred\nnext|*b*", "crashes": 3},
        ],
    )


def test_csv_defuses_spreadsheet_formulas():
    rows = list(csv.reader(io.StringIO(render_csv(hostile_report()))))
    assert [r[0] for r in rows[1:]] == [
        '\'=HYPERLINK("http://evil")',
        "'-[NSView _setWindow:]",
        "a\x1b[31mred\nnext|*b*",  # a value, quoted by csv: not a formula, kept as is
    ]


def test_terminal_and_markdown_never_get_control_characters():
    text = render_text(hostile_report())
    assert "\x1b" not in text and "a\\x1b[31mred\\nnext|*b*" in text
    markdown = render_markdown(hostile_report())
    assert "\x1b" not in markdown
    # The escape shows as the text \x1b: its backslash is escaped like any punctuation.
    assert "a\\\\x1b\\[31mred\\\\nnext\\|\\*b\\*" in markdown
    assert printable("plain (text) <ok>") == "plain (text) <ok>"


def test_module_option_on_the_command_line(report_storage):
    status, text = run_report(
        report_storage, "signatures", "--module", "libc-2.23.so", "--format", "json"
    )
    assert status == 0
    counts = signature_counts(report_storage.processed, module="libc-2.23.so")
    rows = json.loads(text)["rows"]
    assert [(r["signature"], r["crashes"]) for r in rows] == [
        (s, counts[s]) for s in ranking(counts)
    ]
    assert rows and all(r["percent"] for r in rows)
