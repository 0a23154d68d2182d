"""CPU contexts (x86, amd64, arm, arm64) -> CpuContext with rust-minidump's register names.

The layout is chosen from SystemInfo's processor architecture and then checked
against the context's own flags: a context whose CPU bits disagree is unreadable,
and the thread gets no frames, exactly as in rust-minidump.
"""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.minidump import format as fmt
from stackwalk.minidump.errors import MinidumpError
from stackwalk.minidump.reader import Reader

X86_REGISTERS = ("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags")
AMD64_REGISTERS = (
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
)  # fmt: skip
ARM_REGISTERS = (*tuple(f"r{i}" for i in range(11)), "r12", "fp", "sp", "lr", "pc")
ARM64_REGISTERS = (*tuple(f"x{i}" for i in range(29)), "fp", "lr", "sp", "pc")
REGISTERS = {
    "x86": X86_REGISTERS,
    "amd64": AMD64_REGISTERS,
    "arm": ARM_REGISTERS,
    "arm64": ARM64_REGISTERS,
}
# Bytes per register value, for formatting (`0x` + 2 digits per byte).
REGISTER_BYTES = {"x86": 4, "amd64": 8, "arm": 4, "arm64": 8}

_SIZES = {"x86": 716, "amd64": 1232, "arm": 368, "arm64": 912, "arm64_old": 796}
# The integer registers in layout order: x86's 11 words at offset 156, amd64's 16 quadwords at
# offset 0x78 (rip follows). The test dump writer lays contexts out from the same tables.
X86_LAYOUT = ("edi", "esi", "ebx", "edx", "ecx", "eax", "ebp", "eip", "cs", "eflags", "esp")
AMD64_LAYOUT = (
    "rax",
    "rcx",
    "rdx",
    "rbx",
    "rsp",
    "rbp",
    "rsi",
    "rdi",
    *(f"r{i}" for i in range(8, 16)),
)


def _x86(r: Reader) -> dict[str, int]:
    regs = dict(zip(X86_LAYOUT, r.unpack("11I", 156), strict=True))
    del regs["cs"]  # rust-minidump does not list the segment register
    return regs


def _amd64(r: Reader) -> dict[str, int]:
    values = r.unpack("17Q", 0x78)  # AMD64_LAYOUT, then rip
    regs = dict(zip(AMD64_LAYOUT, values[:16], strict=True))
    regs["rip"] = values[16]
    return regs


def _arm(r: Reader) -> dict[str, int]:
    iregs = r.unpack("16I", 4)
    regs = {f"r{i}": iregs[i] for i in range(11)}
    regs.update(r12=iregs[12], fp=iregs[11], sp=iregs[13], lr=iregs[14], pc=iregs[15])
    return regs


def _arm64_regs(iregs: tuple[int, ...], sp: int, pc: int) -> dict[str, int]:
    regs = {f"x{i}": iregs[i] for i in range(29)}
    regs.update(fp=iregs[29], lr=iregs[30], sp=sp, pc=pc)
    return regs


def _arm64(r: Reader) -> dict[str, int]:
    """Both arm64 layouts (old and new) hold x0..x30, sp, pc from offset 8."""
    values = r.unpack("33Q", 8)
    return _arm64_regs(values[:31], values[31], values[32])


# architecture -> (CpuContext cpu, layout key, expected CPU flag, flags format, reader)
_LAYOUTS = {
    "x86": ("x86", "x86", fmt.CONTEXT_X86, "I", 0, _x86),
    "amd64": ("amd64", "amd64", fmt.CONTEXT_AMD64, "I", 0x30, _amd64),
    "arm": ("arm", "arm", fmt.CONTEXT_ARM, "I", 0, _arm),
    "arm64": ("arm64", "arm64", fmt.CONTEXT_ARM64, "I", 0, _arm64),
    "arm64_old": ("arm64", "arm64_old", fmt.CONTEXT_ARM64_OLD, "Q", 0, _arm64),
}


def read_context(raw: memoryview | None, architecture: int, endian: str) -> CpuContext | None:
    """The context in `raw` for a dump of `architecture`, or None when unusable."""
    if raw is None:
        return None
    cpu = fmt.CPU_BY_ARCH.get(architecture)
    key = "arm64_old" if architecture == fmt.ARCH_ARM64_OLD else cpu
    layout = _LAYOUTS.get(key or "")
    if layout is None:
        return None
    cpu_name, size_key, cpu_flag, flags_fmt, flags_offset, reader = layout
    r = Reader(raw, endian)
    if len(r) < _SIZES[size_key]:
        return None
    try:
        flags = r.unpack(flags_fmt, flags_offset)[0] & 0xFFFFFFFF
        if flags & fmt.CONTEXT_CPU_MASK & fmt.CONTEXT_KNOWN_CPU_BITS != cpu_flag:
            return None
        return CpuContext(cpu_name, reader(r))
    except MinidumpError:
        return None
