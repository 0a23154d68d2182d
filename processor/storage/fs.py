"""Filesystem object store: one file per key under a root directory.

Every write goes to a temporary file, is fsynced, then renamed over the target, and the
target's directory is fsynced: after a crash of the machine a key holds its old contents or its
new ones, never a torn mix. Temporary files live in one hidden directory below the root
(``.tmp/``, never listed, on the same filesystem so the rename is atomic): a write interrupted
by a kill leaves its file there, and ``sweep_temporary`` removes those older than an hour
without walking the whole tree.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from processor.storage.objectstore import (
    KeyNotFound,
    ObjectStore,
    StoredObject,
    check_key,
    check_prefix,
)

logger = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
TEMP_DIR = ".tmp"
# A temporary file older than this belongs to a write that will never finish.
STALE_TEMP_SECONDS = 3600.0


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(
    path: Path, write: Callable[[BinaryIO], None], temp_dir: Path | None = None
) -> None:
    """Create or replace ``path`` with what ``write`` writes, all or nothing, durably; the
    temporary file is made in ``temp_dir`` (same filesystem), else beside ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=temp_dir or path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


class FSObjectStore(ObjectStore):
    """Keys are relative paths below ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    @property
    def temp_dir(self) -> Path:
        return self.root / TEMP_DIR

    def put(self, key: str, data: bytes) -> None:
        write_atomically(self._path(key), lambda fp: fp.write(data), self.temp_dir)

    def put_stream(self, key: str, stream: BinaryIO) -> None:
        write_atomically(
            self._path(key),
            lambda fp: shutil.copyfileobj(stream, fp, COPY_CHUNK),
            self.temp_dir,
        )

    def sweep_temporary(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Remove temporary files of writes that never finished (killed); how many."""
        removed = 0
        cutoff = time.time() - older_than
        try:
            entries = list(os.scandir(self.temp_dir))
        except (FileNotFoundError, NotADirectoryError):
            return 0
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # finished or swept meanwhile
        if removed:
            logger.warning(
                "%s: removed %d temporary file(s) of interrupted writes", self.describe(), removed
            )
        return removed

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise KeyNotFound(f"{key}: not in storage") from None

    def open(self, key: str) -> StoredObject:
        try:
            stream = self._path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyNotFound(f"{key}: not in storage") from None
        return StoredObject(os.fstat(stream.fileno()).st_size, stream)

    def fetch(self, key: str, path: Path) -> None:
        source = self._path(key)
        # Stored files are only ever replaced by rename, never changed in place, so a hard
        # link is a safe zero-cost copy; across filesystems fall back to copying.
        try:
            os.link(source, path)
            return
        except (FileNotFoundError, NotADirectoryError):
            raise KeyNotFound(f"{key}: not in storage") from None
        except OSError:
            pass
        try:
            shutil.copyfile(source, path)
        except (FileNotFoundError, NotADirectoryError):
            raise KeyNotFound(f"{key}: not in storage") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        # Stored files are only ever replaced by rename, never changed in place: a reader
        # holding one open sees a whole object, the old or the new.
        path = self._path(key)
        return path if path.is_file() else None

    def list_keys(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        directory = self.root.joinpath(*prefix[:-1].split("/"))
        for name in self._sorted_entries(directory):
            child = directory / name
            if child.is_dir():
                yield from self.list_keys(f"{prefix}{name}/")
            elif child.is_file():
                yield prefix + name

    def list_children(self, prefix: str) -> list[str]:
        check_prefix(prefix)
        return self._sorted_entries(self.root.joinpath(*prefix[:-1].split("/")))

    @staticmethod
    def _sorted_entries(directory: Path) -> list[str]:
        try:
            names = os.listdir(directory)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(name for name in names if not name.startswith("."))

    def describe(self) -> str:
        return f"filesystem {self.root}"
