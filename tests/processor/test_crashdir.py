"""Loading crash directories: clear errors for unusable input, notes for degraded input."""

from __future__ import annotations

import json

import pytest

from processor.crashdir import CrashInputError, load_crash_dir, precomputed_output_path
from processor.crashid import validate_crash_id

CRASH_ID = "de1bb258-cbbf-4589-a673-34f800260918"


def make_dir(tmp_path, raw_crash, files=()):
    directory = tmp_path / "crash"
    directory.mkdir()
    raw_text = raw_crash if isinstance(raw_crash, str) else json.dumps(raw_crash)
    (directory / "raw_crash.json").write_text(raw_text)
    for name, data in dict(files).items():
        (directory / name).write_bytes(data)
    return directory


def test_loads_raw_crash_and_dumps(tmp_path):
    directory = make_dir(
        tmp_path,
        {
            "uuid": CRASH_ID,
            "submitted_timestamp": "2026-09-18T00:00:00+00:00",
            "ProductName": "Firefox",
        },
        {
            "upload_file_minidump": b"MDMP",
            "memory_report": b"gz",
            "upload_file_minidump.json": b"{}",
        },
    )
    crash = load_crash_dir(directory)
    assert crash.crash_id == CRASH_ID
    assert crash.raw_crash["ProductName"] == "Firefox"
    assert sorted(crash.dumps) == ["memory_report", "upload_file_minidump"]
    assert (
        precomputed_output_path(crash.dumps["upload_file_minidump"]).name
        == "upload_file_minidump.json"
    )
    assert crash.notes == []


def test_assigns_crash_id_and_submitted_timestamp(tmp_path):
    crash = load_crash_dir(make_dir(tmp_path, {"ProductName": "Firefox"}))
    assert validate_crash_id(crash.crash_id) == crash.raw_crash["uuid"]
    assert "submitted_timestamp" in crash.raw_crash
    assert crash.notes == [
        "crash id assigned: the raw crash had no uuid",
        "submitted_timestamp assigned: the raw crash had none",
    ]


def test_a_crash_without_an_id_gets_the_same_id_each_time(tmp_path):
    """Processing or submitting the same directory twice names one crash, not two."""
    raw = {"ProductName": "Firefox", "submitted_timestamp": "2026-11-12T16:55:09+00:00"}
    places = [tmp_path / name for name in "abc"]
    for place in places:
        place.mkdir()
    first_dir = make_dir(places[0], raw)
    first = load_crash_dir(first_dir).crash_id
    assert load_crash_dir(first_dir).crash_id == first
    copy = make_dir(places[1], raw)
    assert load_crash_dir(copy).crash_id == first
    assert first.endswith("0261112")  # throttle digit 0, dated by submitted_timestamp
    other = load_crash_dir(make_dir(places[2], {**raw, "ProductName": "Focus"}))
    assert other.crash_id != first
    (copy / "upload_file_minidump").write_bytes(b"MDMP")
    assert load_crash_dir(copy).crash_id != first  # the dumps count too


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ('{"uuid": "../../etc"}', "malformed crash id"),
        ('{"uuid": 12}', "crash id must be a string"),
    ],
)
def test_unusable_raw_crash_is_a_clear_error_naming_the_directory(tmp_path, raw, message):
    directory = make_dir(tmp_path, raw)
    with pytest.raises(CrashInputError, match=message) as info:
        load_crash_dir(directory)
    assert str(directory) in str(info.value)


def test_directory_without_raw_crash(tmp_path):
    with pytest.raises(CrashInputError, match=r"no raw_crash\.json"):
        load_crash_dir(tmp_path)


def test_not_a_directory(tmp_path):
    with pytest.raises(CrashInputError, match="not a crash directory"):
        load_crash_dir(tmp_path / "missing")


def test_missing_listed_dump_and_odd_files_become_notes(tmp_path):
    raw = {
        "uuid": CRASH_ID,
        "submitted_timestamp": "2026-09-18T00:00:00+00:00",
        "metadata": {
            "dump_checksums": {"upload_file_minidump": "abc", "upload_file_minidump_browser": "d"}
        },
    }
    directory = make_dir(
        tmp_path,
        raw,
        {
            "upload_file_minidump": b"MDMP",
            "bad name!": b"x",
            "upload_file_minidump_content.json": b"{}",
        },
    )
    crash = load_crash_dir(directory)
    assert crash.dumps.keys() == {"upload_file_minidump"}
    assert (
        "dump 'upload_file_minidump_browser' is listed in the raw crash but missing" in crash.notes
    )
    assert "ignored file 'bad name!': not a dump form-field name" in crash.notes
    assert any("without its dump" in note for note in crash.notes)


def test_non_utf8_bytes_are_replaced_not_fatal(tmp_path):
    directory = tmp_path / "crash"
    directory.mkdir()
    (directory / "raw_crash.json").write_bytes(
        b'{"uuid": "' + CRASH_ID.encode() + b'", "A": "\xff\xfe"}'
    )
    crash = load_crash_dir(directory)
    assert crash.raw_crash["A"] == "\ufffd\ufffd"


def test_unreadable_or_absurdly_nested_raw_crash(tmp_path):
    directory = make_dir(tmp_path, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(CrashInputError, match="nested too deeply"):
        load_crash_dir(directory)
    (directory / "raw_crash.json").unlink()
    (directory / "raw_crash.json").mkdir()  # unreadable as a file, even for root
    with pytest.raises(CrashInputError, match=r"raw_crash.json: a directory, not a regular file"):
        load_crash_dir(directory)
