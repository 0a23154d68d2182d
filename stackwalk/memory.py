"""Memory captured in the dump: bounded reads that answer None outside what was captured."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from crashproc.records import FrozenRecord


class MemoryRegion(FrozenRecord):
    base: int
    data: bytes | memoryview

    def __init__(self, base: int, data: bytes | memoryview) -> None:
        self.base = base
        self.data = data

    _fields = ("base", "data")

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def contains(self, address: int, size: int = 1) -> bool:
        return self.base <= address and address + size <= self.end

    def read(self, address: int, size: int) -> bytes | None:
        if size < 0 or not self.contains(address, size):
            return None
        start = address - self.base
        return bytes(self.data[start : start + size])

    def read_uint(self, address: int, width: int) -> int | None:
        """Little-endian unsigned integer of `width` bytes at `address`, or None."""
        raw = self.read(address, width)
        return None if raw is None else int.from_bytes(raw, "little")


class MemoryMap:
    """Every captured region, for reads that are not confined to one thread's stack."""

    def __init__(self, regions: Iterable[MemoryRegion] = ()) -> None:
        self.regions = sorted((r for r in regions if r.size), key=lambda r: r.base)
        self._bases = [r.base for r in self.regions]

    def region_at(self, address: int) -> MemoryRegion | None:
        i = bisect_right(self._bases, address) - 1
        if i >= 0 and self.regions[i].contains(address):
            return self.regions[i]
        return None

    def read_uint(self, address: int, width: int) -> int | None:
        region = self.region_at(address)
        return None if region is None else region.read_uint(address, width)
