"""Per-CPU register facts the unwinders need: names, aliases, widths, callee-saved sets.

Register names and aliases are rust-minidump's (its CPU contexts decide which names a
STACK CFI rule may use and which registers an unwound frame reports), so a rule naming
`x29` on arm64 reads and writes the same register as `fp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from crashproc.records import FrozenRecord
from stackwalk.context import CpuContext


class CpuSpec(FrozenRecord):
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
    aliases: Mapping[str, str]
    # The names rust-minidump's frame-pointer and scan unwinders mark valid for the
    # caller's ip, sp and fp. On ARM they are the aliases (`x29`, `r15`...): lookups
    # accept either spelling, but printed registers and CFI forwarding only see the
    # canonical one, so frames carry exactly these names.
    frame_names: tuple[str, str, str] = ("", "", "")
    _known: frozenset[str]
    _spellings: Mapping[str, frozenset[str]]

    def __init__(
        self,
        cpu: str,
        width: int,
        registers: tuple[str, ...],
        ip: str,
        sp: str,
        fp: str,
        callee_saved: tuple[str, ...],
        return_adjust: int,
        aliases: Mapping[str, str] | None = None,
        frame_names: tuple[str, str, str] = ("", "", ""),
    ) -> None:
        self.cpu = cpu
        self.width = width
        self.registers = registers
        self.ip = ip
        self.sp = sp
        self.fp = fp
        self.callee_saved = callee_saved
        self.return_adjust = return_adjust
        self.aliases = dict() if aliases is None else aliases
        self.frame_names = frame_names
        self.__post_init__()

    _fields = (
        "cpu",
        "width",
        "registers",
        "ip",
        "sp",
        "fp",
        "callee_saved",
        "return_adjust",
        "aliases",
        "frame_names",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.registers))
        spellings = {name: {name} for name in self.registers}
        for alias, name in self.aliases.items():
            spellings[name].add(alias)
        object.__setattr__(self, "_spellings", {k: frozenset(v) for k, v in spellings.items()})

    @property
    def mask(self) -> int:
        return (1 << (8 * self.width)) - 1

    def canonical(self, name: str) -> str | None:
        """The register's canonical name, or None if the CPU has no such register."""
        name = self.aliases.get(name, name)
        return name if name in self._known else None

    def unwound(self, ip: int, sp: int, fp: int | None = None) -> CpuContext:
        """A caller context found by frame pointer or scanning: only ip, sp (and fp)."""
        registers = {self.ip: ip, self.sp: sp}
        ip_name, sp_name, fp_name = self.frame_names
        valid = {ip_name, sp_name}
        if fp is not None:
            registers[self.fp] = fp
            valid.add(fp_name)
        return CpuContext(self.cpu, registers, frozenset(valid))

    def knows(self, valid: frozenset[str] | None, name: str) -> bool:
        """Whether a context with validity `valid` (None: all registers) holds a real
        value for register `name`, under any of its spellings."""
        canonical = self.canonical(name)
        if canonical is None:
            return False
        return valid is None or not valid.isdisjoint(self._spellings[canonical])


X86 = CpuSpec(
    cpu="x86",
    width=4,
    registers=("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"),
    ip="eip",
    sp="esp",
    fp="ebp",
    callee_saved=("ebp", "ebx", "edi", "esi"),
    return_adjust=1,
    frame_names=("eip", "esp", "ebp"),
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
    frame_names=("rip", "rsp", "rbp"),
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
    frame_names=("r15", "r13", "r11"),
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
    frame_names=("pc", "sp", "x29"),
)

SPECS: Mapping[str, CpuSpec] = MappingProxyType(
    {spec.cpu: spec for spec in (X86, AMD64, ARM, ARM64)}
)


def knows(context: CpuContext, name: str) -> bool:
    """Whether the frame's context holds a real value for register `name`."""
    spec = SPECS.get(context.cpu)
    if spec is None:
        return context.valid is None or name in context.valid
    return spec.knows(context.valid, name)
