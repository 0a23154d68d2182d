"""Stored stackwalker outputs become json_dump, per dump, with failures as notes."""

from __future__ import annotations

import json

from processor.rules.stackwalk import PrecomputedStackwalkRule, minidump_names
from processor.status import Status


def act(dumps):
    processed, status = {}, Status()
    PrecomputedStackwalkRule().act(
        raw_crash={}, dumps=dumps, processed_crash=processed, tmpdir="/tmp", status=status
    )
    return processed, status.notes


def write(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_main_and_additional_dumps_are_placed(tmp_path):
    main = write(tmp_path / "upload_file_minidump", "MDMP")
    write(tmp_path / "upload_file_minidump.json", {"status": "OK", "pid": 1})
    browser = write(tmp_path / "upload_file_minidump_browser", "MDMP")
    write(tmp_path / "upload_file_minidump_browser.json", {"status": "ERROR_NO_THREAD_LIST"})
    report = write(tmp_path / "memory_report", "gz")
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


def test_invalid_output_is_a_note_and_an_empty_json_dump(tmp_path):
    main = write(tmp_path / "upload_file_minidump", "MDMP")
    write(tmp_path / "upload_file_minidump.json", "{truncated")
    processed, notes = act({"upload_file_minidump": main})
    assert processed["json_dump"] == {}
    assert processed["mdsw_status_string"] == "unknown error"
    assert processed["success"] is False
    assert notes == [
        "PrecomputedStackwalkRule: upload_file_minidump: non-json output: JSONDecodeError"
    ]


def test_non_object_output(tmp_path):
    main = write(tmp_path / "upload_file_minidump", "MDMP")
    write(tmp_path / "upload_file_minidump.json", "[1]")
    _, notes = act({"upload_file_minidump": main})
    assert notes == [
        "PrecomputedStackwalkRule: upload_file_minidump: unexpected output: a JSON list, not an object"
    ]


def test_no_output_leaves_the_crash_alone(tmp_path):
    main = write(tmp_path / "upload_file_minidump", "MDMP")
    processed, notes = act({"upload_file_minidump": main})
    assert processed == {"additional_minidumps": []}
    assert notes == []


def test_minidump_names_puts_the_main_dump_first():
    names = minidump_names(
        {"upload_file_minidump_b": "", "memory_report": "", "upload_file_minidump": ""}
    )
    assert names == ["upload_file_minidump", "upload_file_minidump_b"]
