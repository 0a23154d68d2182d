"""MemoryList, Memory64List and MemoryInfoList: what memory the dump captured."""

from __future__ import annotations

from crashproc.records import FrozenRecord
from stackwalk.memory import MemoryRegion
from stackwalk.minidump.errors import StreamError
from stackwalk.minidump.lists import read_ex_list, read_list
from stackwalk.minidump.reader import Reader

_DESCRIPTOR = "QII"  # start, data size, rva
_DESCRIPTOR64 = "QQ"  # start, data size
_MEMORY_INFO = "QQIIQIIII"  # 48 bytes


def read_region(whole: Reader, start: int, size: int, rva: int) -> MemoryRegion | None:
    """One MINIDUMP_MEMORY_DESCRIPTOR's bytes, or None (null RVA, empty or out of range)."""
    if rva == 0 or size == 0 or rva + size > len(whole):
        return None
    return MemoryRegion(start, whole.view(rva, size))


def parse_memory_list(data: Reader, whole: Reader) -> list[MemoryRegion]:
    """Corrupt entries are skipped, the rest kept (rust-minidump limps along the same way)."""
    regions = []
    for start, size, rva in read_list(data, _DESCRIPTOR):
        region = read_region(whole, start, size, rva)
        if region is not None:
            regions.append(region)
    return regions


def parse_memory64_list(data: Reader, whole: Reader) -> list[MemoryRegion]:
    """Full-dump memory: descriptors without RVAs, the bytes laid end to end from base_rva."""
    count, rva = data.unpack("QQ", 0, "Memory64List header")
    needed = 16 + count * 16
    if len(data) != needed:
        raise StreamError(f"Memory64List of {count} entries should be {needed} bytes")
    regions = []
    for start, size in data.unpack_array(_DESCRIPTOR64, 16, count, "memory descriptors"):
        if rva + size > len(whole):
            raise StreamError("Memory64List data runs past the end of the dump")
        regions.append(MemoryRegion(start, whole.view(rva, size)))
        rva += size
    return regions


class MemoryInfo(FrozenRecord):
    base: int
    allocation_base: int
    allocation_protection: int
    size: int
    state: int
    protection: int
    kind: int

    def __init__(
        self,
        base: int,
        allocation_base: int,
        allocation_protection: int,
        size: int,
        state: int,
        protection: int,
        kind: int,
    ) -> None:
        self.base = base
        self.allocation_base = allocation_base
        self.allocation_protection = allocation_protection
        self.size = size
        self.state = state
        self.protection = protection
        self.kind = kind

    _fields = (
        "base",
        "allocation_base",
        "allocation_protection",
        "size",
        "state",
        "protection",
        "kind",
    )


def parse_memory_info_list(data: Reader, whole: Reader) -> list[MemoryInfo]:
    return [
        MemoryInfo(base, alloc_base, alloc_prot, size, state, prot, kind)
        for base, alloc_base, alloc_prot, _a, size, state, prot, kind, _b in read_ex_list(
            data, _MEMORY_INFO
        )
    ]
