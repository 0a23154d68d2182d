"""Crash storage behaviour, the same for every backend: save, load, list, listeners, refusals."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest

from processor.crashdir import load_crash_dir
from processor.crashid import InvalidCrashId
from processor.storage import (
    CorruptCrashData,
    CrashNotFound,
    CrashStorage,
    ListenerError,
    StorageError,
    stored_outputs,
)
from processor.storage.fs import FSObjectStore

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "crashes" / "oom-with-memory-report"
CRASH_ID = "de1bb258-cbbf-4589-a673-34f800260918"
OTHER_ID = "0bba61c5-dfc3-43e7-87e6-8afda3260919"


def save_sample(storage, directory=SAMPLE):
    crash = load_crash_dir(directory)
    storage.save_raw_crash(
        crash.crash_id, crash.raw_crash, crash.dumps, stored_outputs(crash.dumps.items())
    )
    return crash


def test_raw_crash_and_dumps_round_trip(storage, tmp_path):
    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE, sample)
    (sample / "upload_file_minidump.json").write_text('{"status": "OK", "stored": true}')
    crash = save_sample(storage, sample)
    assert storage.has_raw_crash(crash.crash_id)
    assert storage.load_raw_crash(crash.crash_id) == crash.raw_crash
    assert storage.load_dump_names(crash.crash_id) == ["memory_report", "upload_file_minidump"]

    fetched = tmp_path / "fetched"
    fetched.mkdir()
    loaded = storage.load_crash(crash.crash_id, fetched)
    assert loaded.crash_id == crash.crash_id
    assert loaded.raw_crash == crash.raw_crash
    assert loaded.notes == []
    assert sorted(loaded.dumps) == sorted(crash.dumps)
    for name, path in loaded.dumps.items():
        assert Path(path).read_bytes() == Path(crash.dumps[name]).read_bytes()
    # A dump with a stored output is copied, its output beside it; one without is read in place
    # where the store keeps files on this machine, and copied from a store that does not.
    assert Path(loaded.dumps["upload_file_minidump"]).parent == fetched
    in_place = isinstance(storage.store, FSObjectStore)
    assert (Path(loaded.dumps["memory_report"]).parent == fetched) is not in_place
    # The stored stackwalker output comes back beside its dump, where the stackwalk rule looks.
    output = fetched / "upload_file_minidump.json"
    assert output.read_bytes() == (sample / "upload_file_minidump.json").read_bytes()
    assert not (fetched / "memory_report.json").exists()


def test_dumps_are_read_in_place_from_local_storage(tmp_path):
    storage = CrashStorage(FSObjectStore(tmp_path / "crashes"))
    crash = save_sample(storage)
    scratch = tmp_path / "not-made"
    loaded = storage.load_crash(crash.crash_id, scratch)
    assert sorted(loaded.dumps) == ["memory_report", "upload_file_minidump"]
    for name, path in loaded.dumps.items():
        assert Path(path) == storage.store.local_path(f"v1/{name}/{crash.crash_id}")
        assert Path(path).read_bytes() == Path(crash.dumps[name]).read_bytes()
    assert not scratch.exists()  # nothing copied, so no directory made
    assert storage.store.local_path(f"v1/upload_file_minidump/{OTHER_ID}") is None


def test_processed_crash_and_public_copy(storage):
    processed = {
        "crash_id": CRASH_ID,
        "uuid": CRASH_ID,
        "signature": "OOM | small",
        "url": "https://example.com/private",
        "user_comments": "mail me at jane@example.com",
    }
    storage.save_processed_crash(CRASH_ID, processed)
    assert storage.has_processed_crash(CRASH_ID)
    assert storage.load_processed_crash(CRASH_ID) == processed
    public = storage.load_processed_crash(CRASH_ID, public=True)
    assert public["signature"] == "OOM | small"
    assert public["uuid"] == CRASH_ID
    assert "url" not in public
    assert "user_comments" not in public
    assert "example.com/private" not in json.dumps(public)


def test_listeners_run_after_both_copies_are_saved(storage):
    seen = []

    def listener(crash_id, processed):
        # Both copies must already be readable when a listener is told.
        seen.append(
            (
                crash_id,
                processed["signature"],
                storage.load_processed_crash(crash_id)["signature"],
                storage.load_processed_crash(crash_id, public=True)["signature"],
            )
        )

    storage.processed_listeners.append(listener)
    storage.save_processed_crash(CRASH_ID, {"uuid": CRASH_ID, "signature": "sig"})
    assert seen == [(CRASH_ID, "sig", "sig", "sig")]


def test_a_failing_listener_is_raised_after_the_others_ran(storage):
    seen = []

    def broken(crash_id, processed):
        raise RuntimeError("index is down: https://example.com/private")

    storage.processed_listeners.extend([broken, lambda crash_id, _: seen.append(crash_id)])
    with pytest.raises(ListenerError) as info:
        storage.save_processed_crash(CRASH_ID, {"uuid": CRASH_ID, "signature": "sig"})
    assert "broken" in str(info.value)
    assert "example.com" not in str(info.value)
    assert seen == [CRASH_ID]
    assert storage.load_processed_crash(CRASH_ID)["signature"] == "sig"


def test_reprocessing_overwrites_the_processed_crash(storage):
    storage.save_processed_crash(CRASH_ID, {"uuid": CRASH_ID, "signature": "old"})
    storage.save_processed_crash(CRASH_ID, {"uuid": CRASH_ID, "signature": "new"})
    assert storage.load_processed_crash(CRASH_ID)["signature"] == "new"
    assert storage.load_processed_crash(CRASH_ID, public=True)["signature"] == "new"


def test_missing_crash_parts(storage, tmp_path):
    with pytest.raises(CrashNotFound, match=f"crash {CRASH_ID}: no raw crash in storage"):
        storage.load_raw_crash(CRASH_ID)
    with pytest.raises(CrashNotFound, match="no processed crash"):
        storage.load_processed_crash(CRASH_ID)
    with pytest.raises(CrashNotFound, match="no public processed crash"):
        storage.load_processed_crash(CRASH_ID, public=True)
    assert not storage.has_raw_crash(CRASH_ID)
    assert not storage.has_processed_crash(CRASH_ID)
    assert storage.load_dump_names(CRASH_ID) == []


def test_a_listed_dump_missing_from_storage_is_a_note(storage, tmp_path):
    crash = save_sample(storage)
    storage.store.put(
        f"v1/dump_names/{crash.crash_id}", b'["upload_file_minidump", "gone", "bad name!"]'
    )
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    loaded = storage.load_crash(crash.crash_id, fetched)
    assert list(loaded.dumps) == ["upload_file_minidump"]
    assert loaded.notes == [
        "storage: dump 'gone' is listed but missing from storage",
        "storage: ignored dump with an invalid name 'bad name!'",
    ]


def test_open_dump_streams_only_the_dumps_listed_for_the_crash(storage, tmp_path):
    crash = save_sample(storage)
    for name, path in crash.dumps.items():
        stored = storage.open_dump(crash.crash_id, name)
        expected = Path(path).read_bytes()
        assert stored.size == len(expected)
        chunks = list(stored.chunks(chunk_size=1000))
        assert b"".join(chunks) == expected and len(chunks) == -(-len(expected) // 1000)
    # Names the crash does not list are refused before any key is built from them, even
    # those that are keys of the layout or would climb out of the store's root.
    storage.store.put(f"v1/other/{crash.crash_id}", b"not a dump of this crash")
    for name in ("other", "raw_crash", "dump_names", "processed_crash", "../x", "", "a/b"):
        with pytest.raises(CrashNotFound):
            storage.open_dump(crash.crash_id, name)
    with pytest.raises(CrashNotFound):
        storage.open_dump(OTHER_ID, "upload_file_minidump")
    # A listed dump missing from storage is not found either (not a storage failure).
    storage.store.put(f"v1/dump_names/{crash.crash_id}", b'["upload_file_minidump", "gone"]')
    with pytest.raises(CrashNotFound, match="'gone' is not in storage"):
        storage.open_dump(crash.crash_id, "gone")


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_corrupt_stored_documents_are_clear_errors(storage, data, problem):
    storage.store.put(f"v1/raw_crash/20260918/{CRASH_ID}", data)
    with pytest.raises(CorruptCrashData, match=problem):
        storage.load_raw_crash(CRASH_ID)


@pytest.mark.parametrize(
    "crash_id",
    [
        "../../../etc/passwd",
        "de1bb258-cbbf-4589-a673-34f800260918/../x",
        "DE1BB258-CBBF-4589-A673-34F800260918",
        "de1bb258-cbbf-4589-a673-34f800261399",  # month 13
        "",
        None,
    ],
)
def test_bad_crash_ids_are_refused_before_any_key_is_built(storage, tmp_path, crash_id):
    calls = []
    for method in ("put", "put_stream", "get", "fetch", "exists"):
        original = getattr(storage.store, method)
        setattr(
            storage.store,
            method,
            lambda *a, _m=method, _o=original: calls.append(_m) or _o(*a),
        )
    attempts = [
        lambda: storage.save_raw_crash(crash_id, {}, {}),
        lambda: storage.load_raw_crash(crash_id),
        lambda: storage.load_crash(crash_id, tmp_path),
        lambda: storage.save_processed_crash(crash_id, {}),
        lambda: storage.load_processed_crash(crash_id),
        lambda: storage.has_processed_crash(crash_id),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidCrashId):
            attempt()
    assert calls == []


@pytest.mark.parametrize("name", ["raw_crash", "processed_crash", "dump_names", "a.b", "../x", ""])
def test_bad_or_reserved_dump_names_store_nothing(storage, tmp_path, name):
    dump = tmp_path / "dump"
    dump.write_bytes(b"MDMP")
    with pytest.raises(StorageError, match="dump name"):
        storage.save_raw_crash(CRASH_ID, {"uuid": CRASH_ID}, {name: dump})
    assert not storage.has_raw_crash(CRASH_ID)
    assert list(storage.list_crash_ids()) == []


def test_an_output_without_its_dump_is_refused(storage, tmp_path):
    output = tmp_path / "out.json"
    output.write_text("{}")
    with pytest.raises(StorageError, match="without its dump"):
        storage.save_raw_crash(CRASH_ID, {}, {}, {"upload_file_minidump": output})
    assert not storage.has_raw_crash(CRASH_ID)


def test_list_crash_ids_by_date(storage):
    ids = {
        "11111111-1111-1111-1111-111111260917": datetime.date(2026, 9, 17),
        CRASH_ID: datetime.date(2026, 9, 18),
        "22222222-2222-2222-2222-222222260918": datetime.date(2026, 9, 18),
        OTHER_ID: datetime.date(2026, 9, 19),
    }
    for crash_id in ids:
        storage.save_raw_crash(crash_id, {"uuid": crash_id}, {})
    everything = sorted(ids, key=lambda c: (ids[c], c))
    assert list(storage.list_crash_ids()) == everything
    day = datetime.date(2026, 9, 18)
    assert list(storage.list_crash_ids(day, day)) == [
        "22222222-2222-2222-2222-222222260918",
        CRASH_ID,
    ]
    assert list(storage.list_crash_ids(since=day)) == everything[1:]
    assert list(storage.list_crash_ids(until=day)) == everything[:3]
    assert list(storage.list_crash_ids(since=datetime.date(2026, 9, 20))) == []


def test_listing_skips_what_is_not_a_crash(storage):
    storage.save_raw_crash(CRASH_ID, {"uuid": CRASH_ID}, {})
    storage.store.put("v1/raw_crash/20260918/not-a-crash-id", b"{}")
    storage.store.put("v1/raw_crash/notadate/x", b"{}")
    assert list(storage.list_crash_ids()) == [CRASH_ID]


def test_sample_crash_directories_all_store_and_load(storage, tmp_path):
    samples = REPO / "examples" / "crashes"
    for directory in sorted(p for p in samples.iterdir() if (p / "raw_crash.json").is_file()):
        copy = tmp_path / directory.name
        shutil.copytree(directory, copy)
        crash = save_sample(storage, copy)
        fetched = tmp_path / f"{directory.name}-fetched"
        fetched.mkdir()
        loaded = storage.load_crash(crash.crash_id, fetched)
        assert loaded.raw_crash == crash.raw_crash
        assert {n: Path(p).read_bytes() for n, p in loaded.dumps.items()} == {
            n: Path(p).read_bytes() for n, p in crash.dumps.items()
        }
