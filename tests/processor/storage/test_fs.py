"""The filesystem backend: the exact v1 layout on disk, atomic durable writes, storage URLs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from processor.crashdir import load_crash_dir
from processor.storage import StorageError, open_object_store, open_storage, stored_outputs
from processor.storage.fs import FSObjectStore

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "crashes" / "oom-with-memory-report"


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_the_layout_on_disk(tmp_path):
    root = tmp_path / "crashes"
    storage = open_storage(str(root))
    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE, sample)
    (sample / "upload_file_minidump.json").write_text('{"status": "OK"}')  # a stored output
    crash = load_crash_dir(sample)
    crash_id = crash.crash_id
    storage.save_raw_crash(
        crash_id, crash.raw_crash, crash.dumps, stored_outputs(crash.dumps.items())
    )
    storage.save_processed_crash(crash_id, {"uuid": crash_id, "url": "https://example.com/x"})
    day = "20" + crash_id[-6:]
    assert files_under(root) == sorted(
        [
            f"v1/raw_crash/{day}/{crash_id}",
            f"v1/dump_names/{crash_id}",
            f"v1/upload_file_minidump/{crash_id}",
            f"v1/upload_file_minidump.json/{crash_id}",
            f"v1/memory_report/{crash_id}",
            f"v1/processed_crash/{crash_id}",
            f"v1/processed_crash_public/{crash_id}",
        ]
    )
    assert json.loads((root / f"v1/raw_crash/{day}/{crash_id}").read_text()) == crash.raw_crash
    assert json.loads((root / f"v1/dump_names/{crash_id}").read_text()) == [
        "memory_report",
        "upload_file_minidump",
    ]
    assert (root / f"v1/memory_report/{crash_id}").read_bytes() == (
        SAMPLE / "memory_report"
    ).read_bytes()
    assert json.loads((root / f"v1/processed_crash_public/{crash_id}").read_text()) == {
        "uuid": crash_id
    }


def test_a_failed_write_keeps_the_old_object_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = FSObjectStore(tmp_path)
    store.put("v1/a/b", b"old")
    source = tmp_path / "source"
    source.write_bytes(b"new")
    real_copy = shutil.copyfileobj

    # A full disk cannot be arranged here: a copy that fails halfway stands in for it.
    def copy_half_then_fail(src, dst, length=0):
        dst.write(src.read(1))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(OSError, match="No space left"), open(source, "rb") as stream:
        store.put_stream("v1/a/b", stream)
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    assert store.get("v1/a/b") == b"old"
    assert os.listdir(tmp_path / "v1" / "a") == ["b"]
    with open(source, "rb") as stream:
        store.put_stream("v1/a/b", stream)
    assert store.get("v1/a/b") == b"new"


def test_writes_are_fsynced_file_and_directory(tmp_path, monkeypatch):
    # A power cut cannot be staged in a test; what makes writes survive one is that the file
    # and its directory entry are fsynced before the write counts as done, so spy on fsync.
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    FSObjectStore(tmp_path).put("v1/kind/key", b"data")
    directory = str(tmp_path / "v1" / "kind")
    assert len(synced) == 2
    # The temporary file, in the store's one temporary directory (swept of interrupted writes).
    assert Path(synced[0]).parent == tmp_path / ".tmp"
    assert Path(synced[0]).name.startswith(".key.")
    assert synced[1] == directory


def test_fetch_gives_an_independent_copy(tmp_path):
    store = FSObjectStore(tmp_path / "store")
    store.put("v1/d/x", b"first")
    target = tmp_path / "fetched"
    store.fetch("v1/d/x", target)
    store.put("v1/d/x", b"second")  # replacing the object never changes a fetched copy
    assert target.read_bytes() == b"first"


def test_listing_ignores_temporary_files(tmp_path):
    store = FSObjectStore(tmp_path)
    store.put("v1/k/a", b"1")
    (tmp_path / "v1" / "k" / ".a.123.tmp").write_bytes(b"half")
    assert list(store.list_keys("v1/")) == ["v1/k/a"]
    assert store.list_children("v1/k/") == ["a"]
    assert store.list_children("v1/missing/") == []


@pytest.mark.parametrize("key", ["/etc/passwd", "v1/../../x", "v1//x", "v1/./x", "v1/x/"])
def test_malformed_keys_are_refused(tmp_path, key):
    with pytest.raises(StorageError, match="malformed storage key"):
        FSObjectStore(tmp_path).put(key, b"x")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("./var/crashes", "var/crashes"),
        ("var/crashes", "var/crashes"),
        ("/srv/crashes", "/srv/crashes"),
        ("file:/srv/crashes", "/srv/crashes"),
        ("file:///srv/crashes", "/srv/crashes"),
        ("file://localhost/srv/my%20crashes", "/srv/my crashes"),
        ("file:relative/dir", "relative/dir"),
    ],
)
def test_filesystem_urls(url, expected):
    store = open_object_store(url)
    assert isinstance(store, FSObjectStore)
    assert store.root == Path(expected)


@pytest.mark.parametrize(
    "url, problem",
    [
        ("", "empty"),
        ("http://example.com/crashes", "unsupported storage URL scheme 'http'"),
        ("file://otherhost/x", "must be local"),
        ("file:", "names no directory"),
        ("s3:///prefix", "names no bucket"),
    ],
)
def test_bad_storage_urls(url, problem):
    with pytest.raises(StorageError, match=problem):
        open_object_store(url)
