"""Scratch space for processing crashes: one private directory, swept of what dead processes left.

Processing a crash writes files that hold protected data (the raw crash handed to the
stackwalker, the dumps fetched from storage). A process killed mid-crash cannot clean up after
itself, and per-crash temporary directories scattered over /tmp then stay there, readable by
whoever the umask allows. So every process that processes crashes keeps its files in its own
directory below one scratch root (``processor.scratch_dir``, mode 0700), and holds an
exclusive ``flock`` on a lock file in it for as long as it lives. The kernel drops that lock
when the process dies however it dies, so a sweep (the daemon's, at start and periodically)
can tell a dead process's directory from a live one's without trusting process ids, which
are reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from processor.config import ConfigError

logger = logging.getLogger(__name__)

SETTING = "processor.scratch_dir"
LOCK_FILE = ".owner.lock"
PROCESS_PREFIX = "p"
# A directory whose lock file is missing was being created (or its creator died at once):
# it is removed only once it is this old.
UNLOCKED_GRACE_SECONDS = 3600.0


class ScratchError(ConfigError):
    """The scratch root cannot be used safely (a configuration error); the message says why."""


def default_root() -> Path:
    """``$TMPDIR/crashproc-<uid>``: per user, so two users never share a private directory."""
    return Path(tempfile.gettempdir()) / f"crashproc-{os.getuid()}"


def ensure_root(root: str | os.PathLike[str] | None) -> Path:
    """The scratch root, created with mode 0700 if missing. One that is a link, is not a
    directory or belongs to another user is refused: its content would not be private."""
    path = Path(root) if root is not None else default_root()
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise ScratchError(f"{SETTING}: {path}: {exc.__class__.__name__}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ScratchError(f"{SETTING}: {path} is not a directory (or is a link)")
    if info.st_uid != os.getuid():
        raise ScratchError(f"{SETTING}: {path} belongs to another user")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


class ScratchSpace:
    """This process's own directory below the scratch root, locked while the process lives."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = ensure_root(root)
        self.path = Path(tempfile.mkdtemp(prefix=f"{PROCESS_PREFIX}{os.getpid()}-", dir=self.root))
        # Locked under another name, then renamed: a sweep never finds the lock file unlocked
        # while its owner is alive.
        claim = self.path / (LOCK_FILE + ".new")
        self._lock = os.open(claim, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(claim, self.path / LOCK_FILE)
        self._pid = os.getpid()
        self._crashes = 0

    @contextlib.contextmanager
    def crash_directory(self, crash_id: str) -> Iterator[str]:
        """The path of a fresh directory for one crash's files, removed afterwards.

        The directory is not made here: whoever writes the first file makes it
        (``make_crash_directory``). Most crashes need none (dumps read in place, the built-in
        stackwalker given the annotations in memory), and a directory made and removed per
        crash cost about a millisecond of kernel time. The name is new for every crash, in a
        directory only this process writes to.
        """
        self._crashes += 1
        path = self.path / f"crash-{self._crashes}-{crash_id}"
        try:
            yield str(path)
        finally:
            if os.path.lexists(path):
                shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        """Remove the directory (only in the process that made it: a forked child must not)."""
        if self._lock < 0 or os.getpid() != self._pid:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)
        self._lock = -1


def make_crash_directory(path: str | os.PathLike[str]) -> None:
    """Make the crash directory ``crash_directory`` named, if not yet made (private: 0700)."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)


def _owner_is_gone(directory: Path, now: float) -> bool:
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            return now - os.lstat(directory).st_mtime > UNLOCKED_GRACE_SECONDS
        return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its process is alive
    finally:
        os.close(fd)
    return True


def sweep(root: str | os.PathLike[str] | None = None, now: float | None = None) -> int:
    """Remove the directories of dead processes below the scratch root; how many."""
    path = ensure_root(root)
    now = time.time() if now is None else now
    removed = 0
    for entry in sorted(os.listdir(path)):
        directory = path / entry
        if not entry.startswith(PROCESS_PREFIX) or directory.is_symlink():
            continue
        if directory.is_dir() and _owner_is_gone(directory, now):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    if removed:
        logger.warning("scratch: removed %d directory(ies) left by dead processes", removed)
    return removed
