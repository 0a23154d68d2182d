"""Issue 18: ``"Notes": "\\ud800"`` in raw_crash.json stopped `process` and `submit` with a
traceback (the rest of the batch skipped, stored crashes left unqueued) and made the daemon
dead-letter the crash with UnicodeEncodeError. Now such text becomes U+FFFD and a note.
"""

from __future__ import annotations

import json
import subprocess
import sys

from processor.jsontext import dumps_utf8, loads_clean
from processor.storage import open_storage
from processor.storage.crashstorage import encode_json, raw_crash_key

# JSON as a client may send it: escapes of lone surrogates, in a value, a key and a list.
HOSTILE_RAW = (
    '{"ProductName":"Firefox","Version":"1.0","Notes":"before \\ud800 after",'
    '"Odd\\udfffKey":"x","ModuleSignatureInfo":"{\\"a\\":\\"\\udc00\\"}",'
    '"submitted_timestamp":"2026-09-18T00:00:00+00:00"}'
)
PAIR = '{"Notes":"\\ud83d\\ude00"}'  # a valid surrogate pair: an emoji, nothing to replace


def hostile_dir(parent, name="hostile", text=HOSTILE_RAW):
    directory = parent / name
    directory.mkdir(parents=True)
    (directory / "raw_crash.json").write_text(text)
    return directory


def plain_dir(parent, name="plain"):
    return hostile_dir(parent, name, '{"ProductName":"Firefox","Version":"2.0"}')


def crashproc(*argv, env=None):
    return subprocess.run(
        [sys.executable, "-m", "processor", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_loading_replaces_lone_surrogates_and_names_where():
    document, paths = loads_clean(HOSTILE_RAW)
    assert document["Notes"] == "before \ufffd after"
    assert "Odd\ufffdKey" in document
    assert paths == ["Notes", "Odd\ufffdKey", "ModuleSignatureInfo"]
    assert loads_clean(PAIR) == ({"Notes": "\U0001f600"}, [])


def test_encoders_never_fail_on_text_utf8_cannot_hold():
    document = {"a": ["\ud800", {"\udc00": 1}]}
    assert json.loads(encode_json(document)) == {"a": ["\ufffd", {"\ufffd": 1}]}
    assert dumps_utf8(document).encode("utf-8")


def test_process_handles_each_crash_on_its_own(tmp_path):
    dirs = [plain_dir(tmp_path, "a"), hostile_dir(tmp_path), plain_dir(tmp_path, "z")]
    result = crashproc("process", "--stackwalker", "none", *map(str, dirs))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 3
    notes = documents[1]["processor_notes"]
    assert "lone UTF-16 surrogates) replaced by U+FFFD in Notes, Odd\ufffdKey" in notes


def test_submit_stores_and_queues_every_crash(tmp_path):
    dirs = [plain_dir(tmp_path, "a"), hostile_dir(tmp_path), plain_dir(tmp_path, "z")]
    storage, queue = tmp_path / "crashes", f"sqlite:{tmp_path / 'queue.sqlite'}"
    result = crashproc("submit", "--storage", str(storage), "--queue", queue, *map(str, dirs))
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert len(ids) == 3
    raw = open_storage(str(storage)).load_raw_crash(ids[1])
    assert raw["Notes"] == "before \ufffd after"
    assert any("U+FFFD in Notes" in note for note in raw["metadata"]["collector_notes"])


def test_the_daemon_processes_a_stored_raw_crash_with_lone_surrogates(make_site):
    """A collector other than ours may store the escapes as they came: the daemon reads them
    from storage, replaces them, notes it, and processes the crash (no dead letter)."""
    site = make_site()
    (directory, crash_id), (plain, plain_id) = site.crashes(2)
    raw = json.loads((directory / "raw_crash.json").read_text())
    text = json.dumps(raw)[:-1] + ', "Notes": "\\ud800"}'
    storage = open_storage(site.storage_url)
    storage.save_raw_crash(plain_id, json.loads((plain / "raw_crash.json").read_text()), {})
    storage.store.put(raw_crash_key(crash_id), text.encode())
    storage.store.put(f"v1/dump_names/{crash_id}", b"[]")
    from processor.queues import STANDARD, open_queue

    open_queue(site.queue_url).publish(STANDARD, [crash_id, plain_id])
    result = site.crashproc("daemon", "--once")
    assert result.returncode == 0, result.stderr
    assert site.processed_ids() == sorted([crash_id, plain_id])
    processed = storage.load_processed_crash(crash_id)
    assert "stored raw crash: invalid text (lone UTF-16 surrogates)" in processed["processor_notes"]
    assert "dead=0" in result.stderr


def test_text_a_rule_brings_in_is_replaced_with_a_note(tmp_path, sample_dir):
    """A stored stackwalker output (or any rule's source) with a lone surrogate: the processed
    crash holds U+FFFD and a note naming the field."""
    directory = sample_dir("linux-amd64")
    output_path = directory / "upload_file_minidump.json"
    output = json.loads(output_path.read_text())
    output["modules"][0]["filename"] = "lib\ud800.so"
    output_path.write_text(json.dumps(output))  # ensure_ascii: written as the \ud800 escape
    result = crashproc("process", "--stackwalker", "none", str(directory))
    assert result.returncode == 0, result.stderr
    processed = json.loads(result.stdout)
    assert processed["json_dump"]["modules"][0]["filename"] == "lib\ufffd.so"
    assert "processed crash: invalid text" in processed["processor_notes"]
    assert "json_dump.modules.0.filename" in processed["processor_notes"]
