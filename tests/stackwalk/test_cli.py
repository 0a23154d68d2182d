"""The `stackwalk` command: JSON as the library builds it, a human report, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stackwalk.cli import QUICK_FLAGS, build_parser, main, quick_parse
from stackwalk.process import to_json, walk_minidump
from tests.stackwalk.compare import SYMBOLS


def test_json_is_the_library_document(testdata_dir, capsys):
    assert main([str(testdata_dir / "linux-mini.dmp"), "--json"]) == 0
    out = capsys.readouterr().out
    assert out == to_json(walk_minidump(testdata_dir / "linux-mini.dmp"))
    assert not out.endswith("\n")


def test_pretty_json(testdata_dir, capsys):
    assert main([str(testdata_dir / "test.dmp"), str(SYMBOLS), "--json", "--pretty"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('{\n  "crash_info": {\n')
    assert json.loads(out)["crash_info"]["type"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"


def test_human_report_is_the_default(testdata_dir, capsys):
    assert main([str(testdata_dir / "test.dmp"), str(SYMBOLS)]) == 0
    out = capsys.readouterr().out
    assert "Crash reason:  EXCEPTION_ACCESS_VIOLATION_WRITE" in out
    assert "test_app.exe!`anonymous namespace'::CrashFunction [test_app.cc : 58 + 0x3]" in out
    assert "Thread 0  (crashed) - tid: 3060" in out


def test_brief_human_report_stops_after_the_crashing_thread(testdata_dir, capsys):
    assert main([str(testdata_dir / "test.dmp"), "--brief"]) == 0
    out = capsys.readouterr().out
    assert "Thread 0  (crashed)" in out and "Loaded modules:" not in out


@pytest.mark.parametrize(
    "name, reason",
    [
        ("invalid-range.dmp", "no readable thread list"),
        ("invalid-record-count.dmp", "no readable thread list"),
    ],
)
def test_unprocessable_dumps_exit_1_with_one_line(testdata_dir, capsys, name, reason):
    assert main([str(testdata_dir / name), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and reason in captured.err


def test_not_a_dump_and_missing_file(tmp_path, capsys):
    junk = tmp_path / "junk.dmp"
    junk.write_bytes(b"hello, this is not a minidump at all")
    assert main([str(junk)]) == 1
    assert "not a minidump" in capsys.readouterr().err
    assert main([str(tmp_path / "absent.dmp")]) == 1
    assert "cannot read absent.dmp" in capsys.readouterr().err
    empty = tmp_path / "empty.dmp"
    empty.write_bytes(b"")
    assert main([str(empty)]) == 1
    assert "empty" in capsys.readouterr().err


def test_evil_json_cert_subjects(testdata_dir, capsys):
    assert (
        main(
            [
                str(testdata_dir / "test.dmp"),
                "--json",
                "--evil-json",
                str(testdata_dir / "evil.json"),
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["modules_contains_cert_info"] is True
    assert doc["modules"][0]["cert_subject"] == "rust-minidump"
    assert doc["modules"][1]["cert_subject"] is None


def test_module_entry_point_has_no_traceback(testdata_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "stackwalk.cli", str(testdata_dir / "invalid-range.dmp")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["d.dmp"],
        ["--json", "d.dmp", "s1", "s2"],
        ["--json", "d.dmp", "s1", "--pretty"],
        ["--pretty", "--json", "--brief", "d", "--no-color", "--no-interactive", "--json"],
        ["--human", "--brief", "d", "s"],
        ["d", "--json", "s1"],  # argparse: unrecognized s1
        ["--json", "--human", "d"],
        ["--json"],
        ["--pre", "d"],
        ["d", "--verbose", "warn"],
        ["--", "d"],
        ["-", "d"],
    ],
)
def test_quick_parse_is_argparse_or_declines(argv):
    """The argparse-free path for common argument lists builds argparse's namespace,
    and declines (None) whatever argparse would parse differently or reject."""
    quick = quick_parse(argv)
    try:
        parsed = vars(build_parser().parse_args(argv))
    except SystemExit:
        parsed = None
    if quick is not None:
        assert vars(quick) == parsed
    assert (quick is None) == (
        parsed is None or any(a.startswith("-") and a not in QUICK_FLAGS for a in argv)
    )
