"""Checks that make reading an untrusted zip of symbol files safe.

Uploads are attacker-controlled: entry names may try to climb out of the target
directory and sizes may be crafted to exhaust the disk (zip bombs). Everything is
validated from the central directory before a single byte is written, and sizes are
enforced again while reading because headers can lie.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from crashproc.records import FrozenRecord, Record
from symbols.errors import StoreError

DEFAULT_MAX_TOTAL = 8 << 30
DEFAULT_MAX_MEMBERS = 100_000
# Text .sym files deflate about 5-10x; far higher ratios mean a crafted archive.
MAX_RATIO = 200


class ZipLimits(FrozenRecord):
    max_total: int = DEFAULT_MAX_TOTAL
    max_members: int = DEFAULT_MAX_MEMBERS
    max_ratio: int = MAX_RATIO

    def __init__(
        self,
        max_total: int = DEFAULT_MAX_TOTAL,
        max_members: int = DEFAULT_MAX_MEMBERS,
        max_ratio: int = MAX_RATIO,
    ) -> None:
        self.max_total = max_total
        self.max_members = max_members
        self.max_ratio = max_ratio

    _fields = ("max_total", "max_members", "max_ratio")


def _entry_name_is_safe(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":
        return False
    return all(part not in ("..",) for part in name.split("/"))


def checked_members(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """All file entries, after refusing unsafe names, too many entries and bomb-like sizes."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_members:
        raise StoreError(f"zip has more than {limits.max_members} entries")
    total = 0
    for info in infos:
        if not _entry_name_is_safe(info.filename):
            raise StoreError("zip entry name is absolute or climbs out of the archive")
        if info.flag_bits & 0x1:
            raise StoreError("zip entry is encrypted")
        total += info.file_size
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) + (1 << 20):
            raise StoreError("zip entry compression ratio is implausible (zip bomb?)")
    if total > limits.max_total:
        raise StoreError(f"zip expands to more than {limits.max_total} bytes")
    return infos


class BoundedReader(Record):
    """Wraps a member stream; fails if it yields more than the declared size."""

    raw: BinaryIO
    limit: int
    read_so_far: int = 0

    def __init__(self, raw: BinaryIO, limit: int, read_so_far: int = 0) -> None:
        self.raw = raw
        self.limit = limit
        self.read_so_far = read_so_far

    _fields = ("raw", "limit", "read_so_far")

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise StoreError("zip entry is larger than declared")
        return data

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk
