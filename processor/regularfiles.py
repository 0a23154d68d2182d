"""Open a file from a crash directory only if it is a regular file, not a link, and small enough.

Crash directories come from elsewhere. Checking a path and then opening it by name lets the
name point anywhere in between, and a plain ``open`` follows symbolic links and blocks on named
pipes: ``raw_crash.json`` linked to ``/dev/zero`` was read until MemoryError, a named pipe
hung the command, and a dump linked to ``/etc/passwd`` was copied into storage. Here the file is
opened without following a final symbolic link and without blocking, then checked through the
open descriptor (what is checked is what is read), and reading stops at the limit even if the
file grows meanwhile.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(Exception):
    """Not a regular file, a symbolic link, or over the size limit; the message says which
    (naming the path, never the content)."""


def describe_mode(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def regular_file_problem(path: str | Path, max_bytes: int | None = None) -> str | None:
    """Why ``path`` (not followed if a link) cannot be used as a crash file, or None."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot read ({exc.__class__.__name__})"
    if not stat.S_ISREG(info.st_mode):
        return describe_mode(info.st_mode)
    if max_bytes is not None and info.st_size > max_bytes:
        return f"{info.st_size} bytes, over the {max_bytes}-byte limit"
    return None


class BoundedReader(io.RawIOBase):
    """Reads a file up to ``limit`` bytes and raises UnsafeFile past it (a file that grew)."""

    def __init__(self, raw: BinaryIO, limit: int, name: str):
        self._raw = raw
        self._left = limit
        self._limit = limit
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        view = memoryview(buffer)
        wanted = min(len(view), self._left + 1)
        count = self._raw.readinto(view[:wanted]) or 0
        if count > self._left:
            raise UnsafeFile(f"{self.name}: grew past the {self._limit}-byte limit while read")
        self._left -= count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_regular_file(path: str | Path, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a final symbolic link is not
    followed) of at most ``max_bytes``; UnsafeFile otherwise, FileNotFoundError if absent."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(f"{path}: a symbolic link, not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path}: {describe_mode(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{path}: {info.st_size} bytes, over the {max_bytes}-byte limit")
        os.set_blocking(fd, True)
        raw = os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(BoundedReader(raw, max_bytes, str(path)))  # type: ignore[return-value]


def read_regular_file(path: str | Path, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see open_regular_file)."""
    with open_regular_file(path, max_bytes) as fp:
        return fp.read()
