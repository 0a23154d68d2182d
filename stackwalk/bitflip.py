"""Memory-map heuristics on the crash address: `possible_bit_flips` and the access
violation part of `crash_inconsistencies`, as rust-minidump computes them.

On amd64, a crash address that points at no accessible memory but becomes an
accessible address (or null) when one bit is flipped may be a hardware bit flip. The
memory map comes from the dump's MemoryInfoList (Windows) or LinuxMaps; heuristics
look at the crashing context's registers. Candidates come from the crash address and
from the registers the crashing instruction addresses memory with (stackwalk.opanalysis).
"""

from __future__ import annotations

from bisect import bisect_right

from crashproc.records import FrozenRecord
from stackwalk.context import CpuContext
from stackwalk.jsonout import F32, f32

PAGE_READ = 0x02 | 0x04 | 0x20 | 0x40
PAGE_WRITE = 0x04 | 0x08 | 0x40 | 0x80
PAGE_EXECUTE = 0x10 | 0x20 | 0x40 | 0x80
NEARBY_REGISTER_DISTANCE = 1 << 12
LOW_ADDRESS_CUTOFF = NEARBY_REGISTER_DISTANCE * 2
POISON_BYTES = {
    0x2B, 0x2D, 0x2F, 0x49, 0x4B, 0x4D, 0x4F, 0x6B, 0x8B, 0x9B, 0x9F, 0xA5, 0xBB, 0xCC, 0xCD,
    0xCE, 0xDB, 0xE5,
}  # fmt: skip
NEARBY_CONFIDENCE = (0.50, 0.55, 0.60, 0.65)


class Region(FrozenRecord):
    """An inclusive address range with what the process could do there."""

    start: int
    last: int
    readable: bool
    writable: bool
    executable: bool

    def __init__(
        self, start: int, last: int, readable: bool, writable: bool, executable: bool
    ) -> None:
        self.start = start
        self.last = last
        self.readable = readable
        self.writable = writable
        self.executable = executable

    _fields = ("start", "last", "readable", "writable", "executable")

    @property
    def accessible(self) -> bool:
        return self.readable or self.writable or self.executable


class MemoryInfoMap:
    """Address -> Region, overlapping entries dropped (first by start address wins)."""

    def __init__(self, regions: list[Region]) -> None:
        kept: list[Region] = []
        for region in sorted(regions, key=lambda r: (r.start, r.last)):
            if region.last < region.start:
                continue
            if kept and region.start <= kept[-1].last:
                continue
            kept.append(region)
        self.regions = kept
        self._starts = [r.start for r in kept]

    def index_at(self, address: int) -> int | None:
        """The position in `regions` of the region holding `address` (neighbours are
        next to it: guard-page detection looks at them)."""
        i = bisect_right(self._starts, address) - 1
        if i >= 0 and address <= self.regions[i].last:
            return i
        return None

    def at(self, address: int) -> Region | None:
        i = self.index_at(address)
        return None if i is None else self.regions[i]

    @classmethod
    def from_dump(cls, memory_info: list | None, linux_maps: list | None) -> MemoryInfoMap:
        """MemoryInfoList when present (as rust prefers it), else LinuxMaps."""
        if memory_info is not None:
            return cls(
                [
                    Region(
                        m.base,
                        m.base + m.size - 1,
                        bool(m.protection & PAGE_READ),
                        bool(m.protection & PAGE_WRITE),
                        bool(m.protection & PAGE_EXECUTE),
                    )
                    for m in memory_info
                    if m.size and m.base + m.size - 1 < 1 << 64
                ]
            )
        if linux_maps is not None:
            # rust-minidump takes the end printed in /proc/self/maps as inclusive
            return cls(
                [Region(m.start, m.end, m.readable, m.writable, m.executable) for m in linux_maps]
            )
        return cls([])


def _allowed(region: Region, operation: str | None) -> bool:
    if operation == "read":
        return region.readable
    if operation == "write":
        return region.writable
    if operation == "exec":
        return region.executable
    return True


def _is_repeated(value: int, size: int) -> bool:
    return value == (value & 0xFF) * int.from_bytes(b"\x01" * size, "little")


def _candidate(
    address: int,
    original: int,
    non_canonical: bool,
    context: CpuContext | None,
    source_register: str | None,
) -> dict:
    is_null = address == 0
    was_low = is_null and original <= LOW_ADDRESS_CUTOFF
    nearby, poison = 0, False
    if context is not None:
        size = context.pointer_width
        for value in context.valid_registers().values():
            if address > LOW_ADDRESS_CUTOFF and abs(address - value) <= NEARBY_REGISTER_DISTANCE:
                nearby += 1
            if not poison and _is_repeated(value, size) and value & 0xFF in POISON_BYTES:
                poison = True
    values = [f32(0.25)]
    if non_canonical:
        values.append(f32(0.90))
    if is_null:
        values.append(f32(f32(0.50) * f32(0.50)) if was_low else f32(0.50))
    if nearby:
        values.append(f32(NEARBY_CONFIDENCE[min(nearby, 4) - 1]))
    product = f32(1.0)
    for v in values:
        product = f32(product * f32(1.0 - v))
    confidence = f32(1.0 - product)
    if poison:
        confidence = f32(confidence * f32(0.50))
    return {
        "address": address,
        "source_register": source_register,
        "details": {
            "was_non_canonical": non_canonical,
            "is_null": is_null,
            "was_low": was_low,
            "nearby_registers": nearby,
            "poison_registers": poison,
        },
        "confidence": F32(confidence),
    }


def crash_inconsistencies(
    address: int, operation: str | None, memory_info: MemoryInfoMap
) -> list[str]:
    """What rust-minidump finds contradictory without disassembly: an access violation
    at an address whose Windows memory info allows that very access."""
    region = memory_info.at(address)
    if operation is not None and region is not None and _allowed(region, operation):
        return ["access_violation_when_access_allowed"]
    return []


def possible_bit_flips(
    address: int,
    cpu: str,
    pointer_width: int | None,
    operation: str | None,
    memory: MemoryInfoMap,
    context: CpuContext | None,
    *,
    non_canonical: bool = False,
    source_register: str | None = None,
) -> list[dict]:
    """Candidate intended addresses, lowest bit first.

    rust-minidump 0.25 only looks for flips on amd64 (its other 64-bit CPUs print none),
    over the 48 canonical address bits, or over the 16 bits above them when `address`
    is the non-canonical address the instruction really accessed. `source_register`
    names the register `address` came from, when the candidates are a register's.
    """
    if cpu != "amd64" or pointer_width != 8:
        return []
    region = memory.at(address)
    if region is not None and _allowed(region, operation):
        return []
    found = []
    for bit in range(48, 64) if non_canonical else range(48):
        candidate = address ^ (1 << bit)
        if candidate == 0:
            found.append(_candidate(candidate, address, non_canonical, context, source_register))
        region = memory.at(candidate)
        if region is not None and _allowed(region, operation):
            found.append(_candidate(candidate, address, non_canonical, context, source_register))
    return found
