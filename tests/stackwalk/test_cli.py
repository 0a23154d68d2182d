"""The `stackwalk` command: JSON as the library builds it, a human report, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stackwalk.cli import QUICK_FLAGS, build_parser, main, quick_parse
from stackwalk.limits import DEFAULT_MAX_THREADS, FIELD, json_size
from stackwalk.process import to_json, walk_minidump
from stackwalk.testing import shared_stack_dump
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
        # The caps (stackwalk.limits): values, so argparse parses them
        ["d", "--max-threads", "5"],
        ["--json", "--max-json-size=100", "d", "s1"],
        ["--max-frames-per-thread", "2", "--json", "d"],
        ["--human", "d", "--max-total-frames", "-1"],  # parsed; check_options refuses it
        ["--max-thread", "5", "d"],  # an abbreviation
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


def test_the_caps_apply_with_and_without_the_argparse_free_path(tmp_path, capsys):
    """A plain `--json DUMP` (parsed without argparse) walks within the default caps; each
    cap flag (parsed by argparse) changes the walk; a negative one is refused."""
    threads = DEFAULT_MAX_THREADS + 6
    dump = tmp_path / "threads.dmp"
    dump.write_bytes(shared_stack_dump(threads, 3, crashing=threads))

    def walk(*flags: str) -> dict:
        assert main(["--json", str(dump), *flags]) == 0
        return json.loads(capsys.readouterr().out)

    assert quick_parse(["--json", str(dump)]) is not None
    plain = walk()
    assert plain[FIELD]["triggered"] == ["max_threads"]
    assert plain[FIELD]["threads_walked"] == DEFAULT_MAX_THREADS
    assert plain["thread_count"] == threads and plain["threads"][-1]["frame_count"] == 4

    capped = walk("--max-threads", "5")
    assert capped[FIELD]["threads_walked"] == 5
    assert [t["frame_count"] for t in capped["threads"][:5]] == [4, 4, 4, 4, 0]
    per_thread = walk("--max-frames-per-thread", "2", "--max-threads", "0")
    assert per_thread[FIELD]["triggered"] == ["max_frames_per_thread"]
    assert {t["frame_count"] for t in per_thread["threads"]} == {2}
    total = walk("--max-total-frames", "10")
    assert total[FIELD]["triggered"][0] == "max_total_frames" and total[FIELD]["frames"] == 10
    small = walk("--max-json-size", "20000")
    assert small[FIELD]["triggered"][-1] == "json_size" and json_size(small) <= 20000

    assert main(["--json", str(dump), "--max-json-size", "-1"]) == 1
    assert "--max-json-size must not be negative" in capsys.readouterr().err


WALK_THEN_LIST_MODULES = """
import sys
from stackwalk.cli import main
code = main(sys.argv[1:])
print(code, "symbols.cfirows" in sys.modules, "symbols.grammar" in sys.modules, file=sys.stderr)
"""


def test_a_walk_from_a_converted_cache_never_loads_the_sym_grammar(tmp_path, testdata_dir):
    # This macOS dump unwinds by STACK CFI from crash-client.sym: the first run converts the
    # .sym (parser and grammar), a later one reads the cache and needs only the CFI rows' decoder.
    argv = [
        sys.executable,
        "-c",
        WALK_THEN_LIST_MODULES,
        "--json",
        str(testdata_dir / "pipeline-inlines-macos-segv.dmp"),
        str(testdata_dir / "symbols"),
        f"--symbols-cache={tmp_path / 'cache'}",
    ]
    runs = [subprocess.run(argv, capture_output=True, text=True, check=True) for _ in range(2)]
    first, second = (run.stderr.split() for run in runs)
    assert first == ["0", "True", "True"]
    assert second == ["0", "True", "False"]
    walked = json.loads(runs[1].stdout)
    assert any(f["trust"] == "cfi" for f in walked["crashing_thread"]["frames"])
