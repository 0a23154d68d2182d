"""``crashproc report reindex``: the final count, the progress bar, clear errors."""

from __future__ import annotations

import io
import sqlite3

from processor.cli import run
from processor.reports.progress import ProgressBar, render_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reindex_command_prints_the_count(report_storage, tmp_path, capsys):
    out = io.StringIO()
    index = tmp_path / "index.sqlite"
    status = run(
        ["report", "reindex", "--storage", str(report_storage.storage_dir), "--index", str(index)],
        out=out,
    )
    assert status == 0
    text = out.getvalue()
    assert f"indexed {len(report_storage.processed)} crashes" in text
    assert "1 not processed yet" in text
    assert capsys.readouterr().err == ""  # stderr is no terminal here: no bar
    count = sqlite3.connect(index).execute("SELECT count(*) FROM crashes").fetchone()[0]
    assert count == len(report_storage.processed)


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
    assert "unsupported storage URL scheme" in capsys.readouterr().err


def test_progress_bar_draws_on_a_terminal_only():
    terminal = Terminal()
    bar = ProgressBar("reindex", terminal)
    for done in range(1, 5):
        bar(done, 4)
    bar.finish()
    lines = terminal.getvalue()
    assert lines.startswith("\rreindex [")
    assert lines.endswith(f"\r{render_bar('reindex', 4, 4)}\n")
    assert "100% 4/4" in lines

    pipe = io.StringIO()
    quiet = ProgressBar("reindex", pipe)
    quiet(1, 2)
    quiet.finish()
    assert pipe.getvalue() == ""


def test_render_bar():
    assert render_bar("x", 0, 10) == "x [" + "." * 30 + "]   0% 0/10"
    assert render_bar("x", 5, 10) == "x [" + "#" * 15 + "." * 15 + "]  50% 5/10"
    assert render_bar("x", 0, 0).endswith("100% 0/0")
