"""Bounds-checked reads over the dump's bytes: the only place that unpacks raw data.

Stream parsers go through a Reader, so an offset, count or size taken from the dump can
never turn into an IndexError, a struct.error or an allocation sized by a corrupt field:
every read is checked against the data first and fails with OutOfBounds.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from stackwalk.minidump.errors import OutOfBounds


@lru_cache(maxsize=256)
def _struct(fmt: str) -> struct.Struct:
    return struct.Struct(fmt)


class Reader:
    """A window on the dump's bytes in one byte order ("<" little, ">" big endian).

    Offsets are relative to the window. Views (`sub`) share the underlying buffer, so a
    reader over a memory-mapped file copies nothing until `bytes` is asked for.
    """

    __slots__ = ("_view", "endian")

    def __init__(self, data: bytes | bytearray | memoryview, endian: str = "<") -> None:
        self._view = data if isinstance(data, memoryview) else memoryview(data)
        self.endian = endian

    def __len__(self) -> int:
        return len(self._view)

    def check(self, offset: int, size: int, what: str = "data") -> None:
        if offset < 0 or size < 0 or offset + size > len(self._view):
            raise OutOfBounds(f"{what} at offset {offset:#x} (+{size}) is outside the dump")

    def unpack(self, fmt: str, offset: int, what: str = "data") -> tuple:
        """Fields of the struct `fmt` (without byte-order prefix) at `offset`."""
        s = _struct(self.endian + fmt)
        self.check(offset, s.size, what)
        return s.unpack_from(self._view, offset)

    def unpack_array(self, fmt: str, offset: int, count: int, what: str = "data") -> list[tuple]:
        """`count` consecutive structs (the count is checked against the data first)."""
        s = _struct(self.endian + fmt)
        self.check(offset, s.size * count, what)
        return [s.unpack_from(self._view, offset + i * s.size) for i in range(count)]

    def u8(self, offset: int) -> int:
        return self.unpack("B", offset)[0]

    def u16(self, offset: int) -> int:
        return self.unpack("H", offset)[0]

    def u32(self, offset: int) -> int:
        return self.unpack("I", offset)[0]

    def u64(self, offset: int) -> int:
        return self.unpack("Q", offset)[0]

    def view(self, offset: int, size: int, what: str = "data") -> memoryview:
        self.check(offset, size, what)
        return self._view[offset : offset + size]

    def bytes(self, offset: int, size: int, what: str = "data") -> bytes:
        return bytes(self.view(offset, size, what))

    def sub(self, offset: int, size: int, what: str = "data") -> Reader:
        return Reader(self.view(offset, size, what), self.endian)

    def tail(self, offset: int) -> Reader:
        """Everything from `offset` to the end of this window."""
        return self.sub(offset, max(0, len(self._view) - offset))

    def cstring(self, offset: int, limit: int | None = None) -> bytes:
        """Bytes up to (not including) the first NUL, or to the end/limit without one."""
        end = len(self._view) if limit is None else min(len(self._view), offset + limit)
        self.check(offset, 0)
        raw = bytes(self._view[offset:end])
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]
