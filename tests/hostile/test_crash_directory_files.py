"""Issue 18: crash directories accept only regular files, never follow links, read at most the
configured size.

Before: raw_crash.json linked to /dev/zero was read until MemoryError (3.7 GB), a named pipe
hung the command, a dump linked to /etc/passwd was copied into storage, and a 1 GB sparse dump
was stored in full. Every command here runs with a timeout, so a regression fails instead of
hanging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from processor.regularfiles import UnsafeFile, open_regular_file
from processor.storage import open_storage

RAW = {"ProductName": "Firefox", "Version": "1.0"}
TIMEOUT = 60


def crash_dir(parent: Path, name: str, raw: dict | None = None) -> Path:
    directory = parent / name
    directory.mkdir(parents=True)
    (directory / "raw_crash.json").write_text(json.dumps({**RAW, **(raw or {})}))
    return directory


def crashproc(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "CRASHPROC_STACKWALKER": "none", **env},
    )


def submit(tmp_path: Path, *dirs: Path, **env: str) -> subprocess.CompletedProcess:
    return crashproc(
        "submit",
        "--storage",
        str(tmp_path / "crashes"),
        "--queue",
        f"sqlite:{tmp_path / 'queue.sqlite'}",
        *map(str, dirs),
        **env,
    )


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "crashes").rglob("*") if p.is_file()]


@pytest.fixture
def good(tmp_path) -> Path:
    return crash_dir(tmp_path, "good", {"Version": "2.0"})


@pytest.mark.parametrize("command", ["process", "submit"])
def test_raw_crash_linked_to_dev_zero_is_refused(tmp_path, good, command):
    bad = tmp_path / "zero"
    bad.mkdir()
    (bad / "raw_crash.json").symlink_to("/dev/zero")
    if command == "process":
        result = crashproc("process", str(bad), str(good))
    else:
        result = submit(tmp_path, bad, good)
    assert result.returncode == 1, result.stderr
    assert "raw crash refused" in result.stderr and "a symbolic link" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the good crash went on


def test_raw_crash_that_is_a_named_pipe_does_not_hang(tmp_path, good):
    bad = tmp_path / "fifo"
    bad.mkdir()
    os.mkfifo(bad / "raw_crash.json")
    result = crashproc("process", str(bad), str(good))
    assert result.returncode == 1
    assert "a named pipe, not a regular file" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_raw_crash_over_the_configured_size_is_refused(tmp_path):
    bad = crash_dir(tmp_path, "big", {"Notes": "x" * 1000})
    result = crashproc("process", str(bad), CRASHPROC_MAX_RAW_CRASH_SIZE="500")
    assert result.returncode == 1
    assert "over the 500-byte limit" in result.stderr


def test_a_dump_linked_elsewhere_is_never_read_or_stored(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0:the content of /etc/passwd\n")
    directory = crash_dir(tmp_path, "linked")
    (directory / "upload_file_minidump").symlink_to(secret)
    (directory / "memory_report").symlink_to("/etc/passwd")
    result = submit(tmp_path, directory)
    assert result.returncode == 0, result.stderr
    (crash_id,) = result.stdout.split()
    for path in stored_files(tmp_path):
        assert b"root:x:0:0" not in path.read_bytes(), path
    storage = open_storage(str(tmp_path / "crashes"))
    assert storage.load_dump_names(crash_id) == []
    notes = storage.load_raw_crash(crash_id)["metadata"]["collector_notes"]
    assert "ignored 'memory_report': a symbolic link" in notes
    assert "ignored 'upload_file_minidump': a symbolic link" in notes


def test_a_stored_stackwalker_output_linked_elsewhere_is_not_read(tmp_path, sample_dir):
    directory = sample_dir("linux-amd64")
    output = directory / "upload_file_minidump.json"
    output.unlink()
    output.symlink_to("/dev/zero")
    result = crashproc("process", str(directory))
    assert result.returncode == 0, result.stderr
    notes = json.loads(result.stdout)["processor_notes"]
    assert "ignored 'upload_file_minidump.json': a symbolic link" in notes


def test_a_dump_that_is_a_named_pipe_is_ignored(tmp_path):
    directory = crash_dir(tmp_path, "pipe")
    os.mkfifo(directory / "upload_file_minidump")
    result = submit(tmp_path, directory)
    assert result.returncode == 0, result.stderr
    (crash_id,) = result.stdout.split()
    notes = open_storage(str(tmp_path / "crashes")).load_raw_crash(crash_id)["metadata"]
    assert "ignored 'upload_file_minidump': a named pipe" in notes["collector_notes"]


def test_a_dump_over_the_limit_is_not_stored(tmp_path):
    """A 1 GB sparse dump (no disk used) against the default 256 MiB limit."""
    directory = crash_dir(tmp_path, "huge")
    with open(directory / "upload_file_minidump", "wb") as fp:
        fp.truncate(1024**3)
    (directory / "upload_file_minidump_browser").write_bytes(b"MDMP" + b"\0" * 100)
    result = submit(tmp_path, directory)
    assert result.returncode == 0, result.stderr
    (crash_id,) = result.stdout.split()
    storage = open_storage(str(tmp_path / "crashes"))
    assert storage.load_dump_names(crash_id) == ["upload_file_minidump_browser"]
    notes = storage.load_raw_crash(crash_id)["metadata"]["collector_notes"]
    limit = 256 * 1024 * 1024
    assert f"ignored 'upload_file_minidump': {1024**3} bytes, over the {limit}-byte limit" in notes
    assert sum(path.stat().st_size for path in stored_files(tmp_path)) < 1024 * 1024
    # The limit is a setting.
    smaller = submit(tmp_path, directory, CRASHPROC_MAX_DUMP_SIZE="50")
    assert smaller.returncode == 0, smaller.stderr


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path):
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 10)
    with open_regular_file(path, 10) as fp:
        with open(path, "ab") as writer:
            writer.write(b"y" * 10)
        with pytest.raises(UnsafeFile, match="grew past the 10-byte limit"):
            fp.read()


def test_storage_refuses_a_dump_swapped_for_a_link_after_the_check(tmp_path):
    """The crash directory was checked, then the dump replaced by a link: storage opens the
    file itself without following links, so the link is refused, not copied."""
    from processor.storage import StorageError

    target = tmp_path / "dump"
    target.symlink_to("/etc/passwd")
    storage = open_storage(str(tmp_path / "crashes"))
    crash_id = "00000000-0000-4000-8000-000000260918"
    with pytest.raises(StorageError, match="a symbolic link"):
        storage.save_raw_crash(crash_id, {"uuid": crash_id}, {"upload_file_minidump": target})
    assert not storage.has_raw_crash(crash_id)
