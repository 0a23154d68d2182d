"""StackwalkRule: stored outputs, the external stackwalker, and every way a walk can fail.

The failing stackwalkers are small real shell scripts (a hang, a crash, garbage output), not
mocks; the succeeding one is rust-minidump's minidump-stackwalk, skipped when unavailable.
"""

from __future__ import annotations

import json
import shutil

import pytest

from processor.resources.stackwalker import ExternalStackwalker, tail
from processor.resources.walking import minidump_names
from processor.rules.stackwalk import StackwalkRule
from processor.status import Status


def act(dumps, stackwalker=None, raw_crash=None, tmpdir="/tmp"):
    processed, status = {}, Status()
    StackwalkRule(stackwalker).act(
        raw_crash=raw_crash or {},
        dumps=dumps,
        processed_crash=processed,
        tmpdir=str(tmpdir),
        status=status,
    )
    return processed, status.notes


def write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return str(path)


def script(tmp_path, name, body):
    path = tmp_path / name
    version = 'if [ "$1" = --version ]; then echo "fake-stackwalk 1.0"; exit 0; fi\n'
    path.write_text("#!/bin/sh\n" + version + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_main_and_additional_stored_outputs_are_placed(tmp_path):
    main = write(tmp_path / "upload_file_minidump", b"MDMP")
    write(tmp_path / "upload_file_minidump.json", {"status": "OK", "pid": 1})
    browser = write(tmp_path / "upload_file_minidump_browser", b"MDMP")
    write(tmp_path / "upload_file_minidump_browser.json", {"status": "ERROR_NO_THREAD_LIST"})
    report = write(tmp_path / "memory_report", b"gz")
    processed, notes = act(
        {
            "upload_file_minidump": main,
            "upload_file_minidump_browser": browser,
            "memory_report": report,
        }
    )
    assert notes == []
    assert processed["json_dump"] == {"status": "OK", "pid": 1}
    assert processed["mdsw_status_string"] == "OK"
    assert processed["success"] is True
    assert processed["stackwalk_version"] == "precomputed"
    assert processed["additional_minidumps"] == ["upload_file_minidump_browser"]
    nested = processed["upload_file_minidump_browser"]
    assert nested["mdsw_status_string"] == "ERROR_NO_THREAD_LIST"
    assert nested["success"] is False


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (b"{truncated", "stored output: non-json output: JSONDecodeError"),
        (b"[1]", "stored output: unexpected output: a JSON list, not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "stored output: non-json output: RecursionError"),
    ],
)
def test_invalid_stored_output_is_a_note_and_an_empty_json_dump(tmp_path, content, note):
    main = write(tmp_path / "upload_file_minidump", b"MDMP")
    write(tmp_path / "upload_file_minidump.json", content)
    processed, notes = act({"upload_file_minidump": main})
    assert processed["json_dump"] == {}
    assert processed["success"] is False
    assert notes == [f"StackwalkRule: upload_file_minidump: {note}"]


def test_empty_minidump_is_not_walked(tmp_path):
    main = write(tmp_path / "upload_file_minidump", b"")
    never = script(tmp_path, "never", "exit 99")
    processed, notes = act(
        {"upload_file_minidump": main}, ExternalStackwalker(never), tmpdir=tmp_path
    )
    assert processed["mdsw_status_string"] == "EmptyMinidump"
    assert "json_dump" not in processed
    assert notes == ["StackwalkRule: upload_file_minidump is empty--skipping minidump processing"]


def test_without_a_stackwalker_the_dump_is_noted_not_walked(tmp_path):
    main = write(tmp_path / "upload_file_minidump", b"MDMP")
    processed, notes = act({"upload_file_minidump": main})
    assert processed["json_dump"] == {}
    assert processed["success"] is False
    assert notes == ["StackwalkRule: upload_file_minidump: no stackwalker available; not walked"]


def test_no_minidump_at_all():
    processed, notes = act({})
    assert processed == {"additional_minidumps": []}
    assert notes == []


@pytest.mark.parametrize(
    ("body", "return_code", "note"),
    [
        ("sleep 30; sleep 30", -9, "timeout after 1.5s (SIGKILL)"),
        ('echo "ERROR boom" > "${5#--log-file=}"; exit 3', 3, "failed with exit code 3"),
        ('echo "not json" > "${4#--output-file=}"', 0, "non-json output: JSONDecodeError"),
        ('echo \'{"status": "ERROR_MINIDUMP_HEADER_MISMATCH"}\' > "${4#--output-file=}"', 0, None),
        ("kill -SEGV $$", -11, "failed with exit code -11"),
    ],
)
def test_stackwalker_failures_become_notes_and_fields(tmp_path, body, return_code, note):
    main = write(tmp_path / "upload_file_minidump", b"MDMP")
    # 1.5 s: the scripts that do finish get more than a second of margin on a busy machine.
    walker = ExternalStackwalker(script(tmp_path, "mdsw", body), timeout=1.5)
    processed, notes = act({"upload_file_minidump": main}, walker, tmpdir=tmp_path)
    assert processed["mdsw_return_code"] == return_code
    assert processed["success"] is False
    assert processed["stackwalk_version"] == "fake-stackwalk 1.0"
    if note is None:
        assert processed["mdsw_status_string"] == "ERROR_MINIDUMP_HEADER_MISMATCH"
        assert notes == [
            "StackwalkRule: upload_file_minidump: status ERROR_MINIDUMP_HEADER_MISMATCH"
        ]
    elif return_code == 3:
        # The log starts with "ERROR boom": as in Socorro, its code replaces "unknown error".
        assert processed["json_dump"] == {}
        assert processed["mdsw_stderr"] == "ERROR boom"
        assert processed["mdsw_status_string"] == "boom"
        assert notes == [f"StackwalkRule: upload_file_minidump: {note}", STOMPED]
    else:
        assert processed["json_dump"] == {}
        assert processed["mdsw_status_string"] == "unknown error"
        assert notes == [f"StackwalkRule: upload_file_minidump: {note}"]


STOMPED = "StackwalkRule: processing upload_file_minidump had error; stomped on mdsw_status_string"
LOG = '"${5#--log-file=}"'
OUT = '"${4#--output-file=}"'


@pytest.mark.parametrize(
    ("body", "status_string", "success", "stomped"),
    [
        # minidump-stackwalk's log for a dump it cannot read; no output, exit status 1.
        (
            f"echo 'ERROR HeaderMismatch - Error reading dump: Header mismatch' > {LOG}; exit 1",
            "HeaderMismatch",
            False,
            True,
        ),
        # Status OK is replaced too (Socorro's list is OK and unknown error); success stays.
        (
            f"echo 'ERROR StackOverflow - x' > {LOG}; echo '{{\"status\": \"OK\"}}' > {OUT}",
            "StackOverflow",
            True,
            True,
        ),
        # Any other status from the output is kept.
        (
            f"echo 'ERROR Other - x' > {LOG}; echo '{{\"status\": \"ERROR_NO_THREAD_LIST\"}}' > {OUT}",
            "ERROR_NO_THREAD_LIST",
            False,
            False,
        ),
        # Only a log that starts with ERROR counts; a log cut to its last 10 lines starts
        # with "...".
        (f"echo 'WARN a'; echo 'ERROR Late - x' > {LOG}; exit 1", "Late", False, True),
        (
            f"(echo 'INFO a'; echo 'ERROR Late - x') > {LOG}; exit 1",
            "unknown error",
            False,
            False,
        ),
        (
            f"(seq 1 12 | sed 's/^/ERROR Line/') > {LOG}; exit 1",
            "unknown error",
            False,
            False,
        ),
    ],
)
def test_error_code_in_the_log_sets_the_status_string(
    tmp_path, body, status_string, success, stomped
):
    main = write(tmp_path / "upload_file_minidump", b"MDMP")
    walker = ExternalStackwalker(script(tmp_path, "mdsw", body))
    processed, notes = act({"upload_file_minidump": main}, walker, tmpdir=tmp_path)
    assert processed["mdsw_status_string"] == status_string
    assert processed["success"] is success
    assert (STOMPED in notes) is stomped


def test_real_stackwalker_error_code_on_an_unreadable_dump(tmp_path, peer_stackwalker):
    # A minidump header with version 0: rust-minidump logs VersionMismatch and exits 1.
    dump = write(tmp_path / "upload_file_minidump", b"MDMP" + bytes(28))
    processed, notes = act(
        {"upload_file_minidump": dump}, ExternalStackwalker(str(peer_stackwalker)), tmpdir=tmp_path
    )
    assert processed["mdsw_return_code"] == 1
    assert processed["mdsw_stderr"].startswith("ERROR VersionMismatch - ")
    assert processed["mdsw_status_string"] == "VersionMismatch"
    assert processed["success"] is False
    assert notes == ["StackwalkRule: upload_file_minidump: failed with exit code 1", STOMPED]


def test_missing_command_is_not_found():
    assert ExternalStackwalker.find("/nonexistent/minidump-stackwalk") is None


def test_stderr_tail_keeps_the_last_lines():
    assert tail("\n".join(map(str, range(15))), 3) == "...\n12\n13\n14"
    assert tail("a\nb\n", 3) == "a\nb"


def test_real_stackwalker_matches_the_reference_output(tmp_path, peer_stackwalker, testdata_dir):
    dump = tmp_path / "upload_file_minidump"
    shutil.copy(testdata_dir / "test.dmp", dump)
    walker = ExternalStackwalker(
        str(peer_stackwalker), symbols_paths=[str(testdata_dir / "symbols")]
    )
    processed, notes = act(
        {"upload_file_minidump": str(dump)},
        walker,
        raw_crash={"ProductName": "Firefox"},
        tmpdir=tmp_path,
    )
    assert notes == []
    assert processed["success"] is True
    assert processed["mdsw_return_code"] == 0
    assert processed["stackwalk_version"].startswith("minidump-stackwalk 0.25")
    expected = json.loads((testdata_dir / "expected" / "test.dmp.symbols.json").read_text())
    expected.pop("process_uptime", None)
    assert processed["json_dump"] == expected


def test_minidump_names_puts_the_main_dump_first():
    names = minidump_names(
        {"upload_file_minidump_b": "", "memory_report": "", "upload_file_minidump": ""}
    )
    assert names == ["upload_file_minidump", "upload_file_minidump_b"]


@pytest.mark.parametrize(
    "data, code",
    [
        (b"MDMP" + bytes(28), "VersionMismatch"),
        (b"NOTADUMP" + bytes(40), "HeaderMismatch"),
        (b"MDMP", "MissingHeader"),
    ],
)
def test_the_builtin_stackwalker_names_unreadable_dumps_as_the_peer_does(
    tmp_path, peer_stackwalker, data, code
):
    """The same mdsw_status_string whichever backend walked: the built-in walker logs the
    code rust-minidump's minidump-stackwalk logs for the same dump."""
    from processor.resources.builtin_stackwalker import BuiltinStackwalker

    dump = write(tmp_path / "upload_file_minidump", data)
    for walker in (BuiltinStackwalker(), ExternalStackwalker(str(peer_stackwalker))):
        processed, _ = act({"upload_file_minidump": dump}, walker, tmpdir=tmp_path)
        assert processed["mdsw_status_string"] == code, walker.kind
        assert processed["mdsw_stderr"].startswith(f"ERROR {code} - ")
