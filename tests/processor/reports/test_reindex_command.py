"""``crashproc report reindex``: the final count, the progress bar, clear errors."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from processor.cli import run
from processor.reports.index import ReportIndex, configured_index_path, default_index_path
from tests.terminal import Terminal


def test_reindex_command_prints_the_count(report_storage, new_index, capsys):
    out = io.StringIO()
    index = new_index("command")
    status = run(
        ["report", "reindex", "--storage", str(report_storage.storage_dir), "--index", str(index)],
        out=out,
    )
    assert status == 0
    text = out.getvalue()
    assert f"indexed {len(report_storage.processed)} crashes" in text
    assert "1 not processed yet" in text
    assert capsys.readouterr().err == ""  # stderr is no terminal here: no bar
    with ReportIndex(index, create=False) as reader:
        assert reader.crash_count() == len(report_storage.processed)


def test_reindex_index_defaults_to_the_environment(report_storage, tmp_path, monkeypatch):
    monkeypatch.setenv("CRASHPROC_REPORT_INDEX", str(tmp_path / "from-env.sqlite"))
    monkeypatch.setenv("CRASHPROC_STORAGE", str(report_storage.storage_dir))
    assert run(["report", "reindex"], out=io.StringIO()) == 0
    assert (tmp_path / "from-env.sqlite").is_file()


def test_reindex_command_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"\x00not sqlite" * 100)
    (tmp_path / "crashes").mkdir()
    status = run(
        ["report", "reindex", "--storage", str(tmp_path / "crashes"), "--index", str(bad)],
        out=io.StringIO(),
    )
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("crashproc report: error: ") and "Traceback" not in err
    assert run(["report", "reindex", "--storage", "ftp://x/y", "--index", str(bad)]) == 2
    assert "unsupported URL scheme 'ftp'" in capsys.readouterr().err


def test_reindex_draws_a_progress_bar_on_a_terminal(report_storage, new_index, monkeypatch):
    terminal = Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal.stream)
        argv = ["--storage", str(report_storage.storage_dir), "--index", str(new_index("bar"))]
        assert run(["report", "reindex", *argv], out=io.StringIO()) == 0
    drawn = terminal.text()
    total = len(report_storage.processed) + len(report_storage.unprocessed)
    assert "reindex:" in drawn
    final = drawn.rstrip("\r\n").split("\r")[-1]  # close() draws the final state last
    assert final.startswith("reindex: 100%") and f" {total}/{total} " in final


def test_index_lives_beside_a_local_storage(monkeypatch):
    monkeypatch.delenv("CRASHPROC_REPORT_INDEX", raising=False)
    assert default_index_path("./var/crashes") == Path("var/report-index.sqlite")
    assert default_index_path("/srv/crashes/") == Path("/srv/report-index.sqlite")
    assert default_index_path("file:/srv/my%20crashes") == Path("/srv/report-index.sqlite")
    assert default_index_path("s3://bucket/prefix") == Path("var/report-index.sqlite")
    assert default_index_path(None) == Path("var/report-index.sqlite")


def test_the_configured_index_wins_over_the_one_beside_the_storage():
    assert configured_index_path(Path("/data/index.sqlite"), "/srv/crashes") == Path(
        "/data/index.sqlite"
    )
    assert configured_index_path(None, "/srv/crashes") == Path("/srv/report-index.sqlite")


def test_reports_find_the_index_beside_the_storage(sqlite_report_storage, tmp_path, monkeypatch):
    """The embedded default: an SQLite file beside a local storage directory."""
    monkeypatch.delenv("CRASHPROC_REPORT_INDEX", raising=False)
    private = sqlite_report_storage.copy_to(tmp_path)  # crashes/ and index.sqlite
    (tmp_path / "index.sqlite").rename(tmp_path / "report-index.sqlite")
    out = io.StringIO()
    assert run(["report", "signatures", "--storage", str(private.storage_dir)], out=out) == 0
    assert f"{len(sqlite_report_storage.processed)} crash reports" in out.getvalue()


def test_the_index_url_comes_from_the_environment(postgresql_report_storage, monkeypatch):
    monkeypatch.setenv("CRASHPROC_REPORT_INDEX", postgresql_report_storage.index_path)
    monkeypatch.setenv("CRASHPROC_STORAGE", str(postgresql_report_storage.storage_dir))
    out = io.StringIO()
    assert run(["report", "signatures", "--format", "csv"], out=out) == 0
    rows = out.getvalue().splitlines()[1:]
    assert sum(int(row.rsplit(",", 2)[1]) for row in rows) == len(
        postgresql_report_storage.processed
    )
