"""The key-value store crash storage is built on: local files or S3 objects, same keys.

Crash storage is a layout of keys (``v1/raw_crash/{date}/{id}``...) over a store that can put,
get and list objects. Keeping the layout in one class and the transport in small stores means
the filesystem and S3 backends cannot drift apart in what they store where.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

READ_CHUNK = 1024 * 1024


class StorageError(Exception):
    """Crash storage failed; the message names keys and crash ids only, never crash data."""


class KeyNotFound(StorageError):
    """The object does not exist."""


def check_key(key: str) -> str:
    """Refuse a key that could escape the store's root (built keys never do; this is a guard)."""
    parts = key.split("/")
    if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise StorageError(f"refusing malformed storage key {key[:200]!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: a key path ending in ``/``."""
    if not prefix.endswith("/"):
        raise StorageError(f"listing prefix must end with '/': {prefix[:200]!r}")
    check_key(prefix[:-1])
    return prefix


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class StoredObject:
    """An object opened for reading, to be streamed rather than held whole in memory (a dump
    can be hundreds of megabytes). ``chunks`` reads it to the end and closes it."""

    size: int | None
    stream: Readable

    def chunks(self, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            while data := self.stream.read(chunk_size):
                yield data
        finally:
            self.stream.close()

    def close(self) -> None:
        self.stream.close()


class ObjectStore(ABC):
    """Objects under string keys with ``/`` as separator; writes are all-or-nothing."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; a reader sees the old object or the whole new one."""

    @abstractmethod
    def put_stream(self, key: str, stream: BinaryIO) -> None:
        """Store what ``stream`` holds under ``key`` (a file opened and checked by the caller:
        see processor.regularfiles)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; KeyNotFound when it does not exist."""

    @abstractmethod
    def open(self, key: str) -> StoredObject:
        """The object opened for reading; KeyNotFound when it does not exist (raised here,
        before any byte is read, so a server can still answer 404)."""

    @abstractmethod
    def fetch(self, key: str, path: Path) -> None:
        """Copy the object to the local file ``path``; KeyNotFound when it does not exist."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """The object as a file on this machine, to be read in place (never written), or None
        when the store has no such file (S3) or the object does not exist."""
        return None

    @abstractmethod
    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key below ``prefix`` (which ends in ``/``), at any depth, sorted."""

    @abstractmethod
    def list_children(self, prefix: str) -> list[str]:
        """The names one level below ``prefix`` (like ``ls``), sorted."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for logs (no credentials)."""

    def sweep_temporary(self) -> int:
        """Remove what interrupted writes left behind, if the store can have any; how many."""
        return 0

    def close(self) -> None:
        return None
