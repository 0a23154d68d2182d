"""compare: both periods side by side, ranks over each whole period, and the rank changes."""

from __future__ import annotations

import datetime
import io
import json

import pytest

from processor.cli import run
from processor.reports.compare import PeriodError, compare, parse_period, rank_change
from processor.reports.index import ReportIndex
from processor.reports.queries import MISSING_SYMBOLS, SIGNATURES, Period
from tests.processor.reports.conftest import AFTER, BEFORE
from tests.processor.reports.expected import missing_counts, ranking, signature_counts

KEYS = ("module", "version", "debug_file", "debug_id", "code_id", "reason")


@pytest.fixture
def index(report_storage):
    with ReportIndex(report_storage.index_path, create=False) as index:
        yield index


def expected_rows(before_counts, after_counts, top):
    """What compare must show, worked out with plain Python rankings of each period."""
    before_rank = {key: n for n, key in enumerate(ranking(before_counts), 1)}
    after_rank = {key: n for n, key in enumerate(ranking(after_counts), 1)}
    shown = {k for k, n in before_rank.items() if n <= top} | {
        k for k, n in after_rank.items() if n <= top
    }
    order = sorted(
        shown, key=lambda k: (k not in after_rank, after_rank.get(k), before_rank.get(k))
    )
    return [
        (key, before_rank.get(key), before_counts[key], after_rank.get(key), after_counts[key])
        for key in order
    ]


def got_rows(result, keys):
    def key(row):
        values = tuple(row[k] for k in keys)
        return values if len(values) > 1 else values[0]

    return [
        (key(r), r["before_rank"], r["before_crashes"], r["after_rank"], r["after_crashes"])
        for r in result.rows
    ]


@pytest.mark.parametrize("top", [1, 2, 50])
def test_compare_signatures(report_storage, index, top):
    crashes = report_storage.processed
    before = signature_counts(crashes, since=BEFORE[0], until=BEFORE[1])
    after = signature_counts(crashes, since=AFTER[0], until=AFTER[1])
    result = compare(index, SIGNATURES, Period(*BEFORE), Period(*AFTER), top=top)
    assert got_rows(result, ["signature"]) == expected_rows(before, after, top)
    for row in result.rows:
        assert row["change"] == rank_change(row["before_rank"], row["after_rank"])
        assert row["before_percent"] == round(100 * row["before_crashes"] / before.total(), 2)
        assert row["after_percent"] == round(100 * row["after_crashes"] / after.total(), 2)
    # The fixture's story: the Windows test app crash led before the fix, the Linux one after.
    if top == 50:
        changes = {r["signature"]: r["change"] for r in result.rows}
        assert changes["(anonymous namespace)::CrashFunction"].startswith("down")
        assert changes["crash"].startswith("up")
        assert changes["EMPTY: no frame data available"] == "gone"
        assert changes["OOM | large | (anonymous namespace)::CrashFunction"] == "new"


def test_compare_ranks_over_the_whole_period(report_storage, index):
    """With --top 1 a row outside one side's top still shows its real rank there."""
    result = compare(index, SIGNATURES, Period(*BEFORE), Period(*AFTER), top=1)
    assert len(result.rows) == 2
    assert all(r["before_rank"] and r["after_rank"] for r in result.rows)
    assert {r["change"] for r in result.rows} == {"up 1", "down 1"}


def test_compare_missing_symbols(report_storage, index):
    crashes = report_storage.processed
    before = missing_counts(crashes, since=BEFORE[0], until=BEFORE[1])
    after = missing_counts(crashes, since=AFTER[0], until=AFTER[1])
    result = compare(index, MISSING_SYMBOLS, Period(*BEFORE), Period(*AFTER))
    assert got_rows(result, KEYS) == expected_rows(before, after, 50)
    by_reason = {}
    for row in result.rows:
        by_reason.setdefault(row["reason"], set()).add(row["change"])
    assert by_reason["not-looked-up"] == {"gone"}  # processed without symbols before only
    assert by_reason["corrupt-symbols"] == {"new"}
    assert by_reason["code-info-lookup-failed"] == {"new"}


def test_compare_with_a_module(report_storage, index):
    crashes = report_storage.processed
    filters = {"module": "kernel32.dll"}
    before = signature_counts(crashes, since=BEFORE[0], until=BEFORE[1], **filters)
    after = signature_counts(crashes, since=AFTER[0], until=AFTER[1], **filters)
    result = compare(index, SIGNATURES, Period(*BEFORE), Period(*AFTER), "kernel32.dll")
    assert got_rows(result, ["signature"]) == expected_rows(before, after, 50)
    assert "with kernel32.dll on the crashing stack" in result.context[0]


def test_rank_change():
    assert rank_change(None, 3) == "new"
    assert rank_change(2, None) == "gone"
    assert rank_change(5, 2) == "up 3"
    assert rank_change(2, 7) == "down 5"
    assert rank_change(4, 4) == "same"


def test_parse_period():
    d = datetime.date
    assert parse_period("2026-11-01..2026-11-07") == Period(d(2026, 11, 1), d(2026, 11, 7))
    assert parse_period("2026-11-01..") == Period(d(2026, 11, 1), None)
    assert parse_period("..2026-11-07") == Period(None, d(2026, 11, 7))
    assert parse_period("2026-11-07..2026-11-07") == Period(d(2026, 11, 7), d(2026, 11, 7))
    for bad in ("2026-11-01", "2026-11-01..tomorrow", "2026-11-08..2026-11-01"):
        with pytest.raises(PeriodError):
            parse_period(bad)


def run_compare(report_storage, *argv):
    out = io.StringIO()
    argv = ["report", "compare", *argv, "--index", str(report_storage.index_path)]
    return run(argv, out=out), out.getvalue()


def test_compare_command(report_storage, index):
    periods = ["--before", "2026-11-01..2026-11-07", "--after", "2026-11-08..2026-11-14"]
    status, text = run_compare(report_storage, *periods, "missing-symbols", "--format", "json")
    assert status == 0
    expected = compare(index, MISSING_SYMBOLS, Period(*BEFORE), Period(*AFTER))
    assert json.loads(text) == {"rows": expected.rows}

    status, text = run_compare(report_storage, *periods)  # signatures by default, as text
    assert status == 0
    lines = text.splitlines()
    assert lines[0] == "Signatures: before and after"
    assert lines[1].startswith("before: 2026-11-01..2026-11-07: ")
    assert lines[2].startswith("after: 2026-11-08..2026-11-14: ")
    header = lines[4]
    assert header.index("before rank") < header.index("after rank") < header.index("change")
    rows = compare(index, SIGNATURES, Period(*BEFORE), Period(*AFTER)).rows
    for line, row in zip(lines[6:], rows, strict=True):
        assert line.rstrip().endswith(row["change"])


def test_compare_usage_errors(report_storage, capsys):
    periods = ["--before", "2026-11-01..2026-11-07", "--after", "2026-11-08.."]
    status, _ = run_compare(report_storage, *periods, "missing-symbols", "--module", "x.dll")
    assert status == 2
    assert "--module applies to the signatures report only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_compare(report_storage, "--before", "2026-11-01..2026-11-07")  # no --after
    with pytest.raises(SystemExit):
        run_compare(report_storage, "--before", "last week", "--after", "2026-11-08..")
