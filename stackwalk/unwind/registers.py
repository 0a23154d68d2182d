"""Per-CPU register facts the unwinders need: names, aliases, widths, callee-saved sets.

Register names and aliases are rust-minidump's (its CPU contexts decide which names a
STACK CFI rule may use and which registers an unwound frame reports), so a rule naming
`x29` on arm64 reads and writes the same register as `fp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class CpuSpec:
    """What differs between CPUs for unwinding purposes.

    `return_adjust` is subtracted from a caller's return address to get the address looked
    up for its symbols and CFI (inside the call instruction, rust-minidump's convention).
    `callee_saved` registers are forwarded unchanged from callee to caller by CFI unwinding.
    """

    cpu: str
    width: int
    registers: tuple[str, ...]
    ip: str
    sp: str
    fp: str
    callee_saved: tuple[str, ...]
    return_adjust: int
    aliases: Mapping[str, str] = field(default_factory=dict)
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.registers))

    @property
    def mask(self) -> int:
        return (1 << (8 * self.width)) - 1

    def canonical(self, name: str) -> str | None:
        """The register's canonical name, or None if the CPU has no such register."""
        name = self.aliases.get(name, name)
        return name if name in self._known else None


X86 = CpuSpec(
    cpu="x86",
    width=4,
    registers=("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"),
    ip="eip",
    sp="esp",
    fp="ebp",
    callee_saved=("ebp", "ebx", "edi", "esi"),
    return_adjust=1,
)

AMD64 = CpuSpec(
    cpu="amd64",
    width=8,
    registers=(
        *("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp"),
        *(f"r{i}" for i in range(8, 16)),
        "rip",
    ),
    ip="rip",
    sp="rsp",
    fp="rbp",
    # rust-minidump forwards only the System V set (rdi/rsi are not treated as saved).
    callee_saved=("rbx", "rbp", "r12", "r13", "r14", "r15"),
    return_adjust=1,
)

ARM = CpuSpec(
    cpu="arm",
    width=4,
    registers=(*(f"r{i}" for i in range(11)), "r12", "fp", "sp", "lr", "pc"),
    ip="pc",
    sp="sp",
    fp="fp",
    callee_saved=("r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp"),
    return_adjust=2,
    aliases=MappingProxyType({"r11": "fp", "r13": "sp", "r14": "lr", "r15": "pc"}),
)

ARM64 = CpuSpec(
    cpu="arm64",
    width=8,
    registers=(*(f"x{i}" for i in range(29)), "fp", "lr", "sp", "pc"),
    ip="pc",
    sp="sp",
    fp="fp",
    callee_saved=(*(f"x{i}" for i in range(19, 29)), "fp"),
    return_adjust=4,
    aliases=MappingProxyType({"x29": "fp", "x30": "lr"}),
)

SPECS: Mapping[str, CpuSpec] = MappingProxyType(
    {spec.cpu: spec for spec in (X86, AMD64, ARM, ARM64)}
)
