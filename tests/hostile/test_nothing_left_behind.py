"""Issue 18: a killed worker left ``/tmp/crashproc-<id>-*/`` with protected crash data, and
interrupted storage writes left hidden ``.tmp`` files beside the keys.

Now crash files live under one scratch root (mode 0700), in a directory per process locked
while it lives; the daemon removes dead processes' directories at start and periodically, and
storage keeps temporary files in one directory it sweeps of files older than an hour.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.scratch import ScratchError, ScratchSpace, sweep
from processor.storage import open_storage
from processor.storage.fs import FSObjectStore

HOLD_SCRATCH = """
import sys, time
from processor.scratch import ScratchSpace
space = ScratchSpace(sys.argv[1])
(space.path / "raw_crash.json").write_text('{"Email": "protected"}')
print(space.path, flush=True)
time.sleep(600)
"""


def hold_scratch(root: Path) -> tuple[subprocess.Popen, Path]:
    """A process that made its scratch directory (with a protected file) and lives on."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRATCH, str(root)], stdout=subprocess.PIPE, text=True
    )
    path = Path(process.stdout.readline().strip())
    process.stdout.close()
    return process, path


def test_the_scratch_root_is_private_and_checked(tmp_path):
    space = ScratchSpace(tmp_path / "scratch")
    assert stat.S_IMODE(os.stat(tmp_path / "scratch").st_mode) == 0o700
    with space.crash_directory("some-crash") as directory:
        assert Path(directory).parent == space.path
    space.close()
    assert not space.path.exists()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ScratchError, match=r"processor\.scratch_dir"):
        ScratchSpace(tmp_path / "link")


def test_a_sweep_removes_dead_processes_directories_only(tmp_path):
    root = tmp_path / "scratch"
    alive, alive_dir = hold_scratch(root)
    killed, killed_dir = hold_scratch(root)
    try:
        killed.kill()
        killed.wait()
        assert (killed_dir / "raw_crash.json").exists()  # what a killed worker leaves
        assert sweep(root) == 1
        assert not killed_dir.exists()
        assert (alive_dir / "raw_crash.json").exists()
    finally:
        alive.kill()
        alive.wait()
    assert sweep(root) == 1


def test_the_daemon_removes_what_killed_workers_left(make_site):
    site = make_site()
    scratch = site.root / "scratch"
    site.extra_env.update(
        {"CRASHPROC_SCRATCH_DIR": str(scratch), "CRASHPROC_DAEMON_HOUSEKEEPING_INTERVAL": "0.5"}
    )
    ((directory, crash_id),) = site.crashes(1, Poison="hang")
    (directory / "upload_file_minidump").write_bytes(b"MDMP protected memory")
    # A dump is read in place from filesystem storage unless a stored stackwalker output has
    # to lie beside it: then both are copied into scratch (as every dump is from S3).
    (directory / "upload_file_minidump.json").write_text('{"status": "OK"}')
    site.submit([directory])
    daemon = site.start_daemon()

    def held_dump() -> list[Path]:
        return list(scratch.glob(f"p*/crash-*-{crash_id}/upload_file_minidump"))

    (left,) = site.wait_for(held_dump, what="the crash's files in scratch")
    daemon.kill_group()  # the machine died: nobody cleaned up
    assert left.exists()
    assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700

    # Killed meanwhile by someone else, while the next daemon runs: its periodic round.
    survivor, survivor_dir = hold_scratch(scratch)
    daemon = site.start_daemon()
    site.wait_for(lambda: not left.exists(), what="the dead worker's scratch removed at start")
    survivor.send_signal(signal.SIGKILL)
    survivor.wait()
    site.wait_for(lambda: not survivor_dir.exists(), what="periodic sweep")
    daemon.kill_group()


def test_storage_writes_leave_no_file_beside_the_keys(tmp_path, monkeypatch):
    store = FSObjectStore(tmp_path)

    def interrupted(path, flags, mode=0o777, *, dir_fd=None):
        raise KeyboardInterrupt  # stands in for a kill between writing and renaming

    store.put("v1/a/b", b"old")
    monkeypatch.setattr(os, "replace", lambda *a: interrupted(*a, 0))
    with pytest.raises(KeyboardInterrupt):
        store.put("v1/a/b", b"new")
    monkeypatch.undo()
    assert os.listdir(tmp_path / "v1" / "a") == ["b"]


def test_storage_sweeps_temporary_files_older_than_an_hour(tmp_path):
    storage = open_storage(str(tmp_path / "crashes"))
    temp = tmp_path / "crashes" / ".tmp"
    temp.mkdir(parents=True)
    stale, fresh = temp / ".raw.abc.tmp", temp / ".raw.def.tmp"
    stale.write_text('{"Email": "protected"}')
    fresh.write_text("a write in progress")
    hour_ago = time.time() - 3601
    os.utime(stale, (hour_ago, hour_ago))
    assert storage.sweep_temporary() == 1
    assert not stale.exists() and fresh.exists()


def test_the_daemon_sweeps_storage_temporary_files(make_site):
    site = make_site()
    temp = Path(site.storage_url) / ".tmp"
    temp.mkdir(parents=True)
    stale = temp / ".x.tmp"
    stale.write_text("left by a killed write")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    result = site.crashproc("daemon", "--once", CRASHPROC_SCRATCH_DIR=str(site.root / "s"))
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
