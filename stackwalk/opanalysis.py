"""The crashing instruction on amd64, analysed as rust-minidump 0.25 does it.

minidump-stackwalk disassembles the instruction at the exception context's instruction
pointer (amd64 only) and reports in `crash_info` what it reads from it: the text, the
memory it touches, where it sends the instruction pointer, and what that says about
the crash (a null pointer plus an offset, the real target of a non-canonical access,
guard pages, a crash reason the instruction cannot have caused). Bytes missing from
the dump or that do not decode give no analysis, as in the peer.

The rules below are the peer's, observed case by case against the 0.25 binary,
including its slips: Linux maps never mark guard pages.
"""

from __future__ import annotations

from collections.abc import Callable

from crashproc.records import FrozenRecord, Record
from stackwalk.bitflip import MemoryInfoMap, possible_bit_flips
from stackwalk.context import CpuContext
from stackwalk.memory import MemoryMap, MemoryRegion

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from stackwalk.disasm import Decoded

U64 = (1 << 64) - 1

__all__ = [
    "Access",
    "Adjusted",
    "OpAnalysis",
    "adjusted_address",
    "analyze",
    "bit_flips",
    "crash_info_fields",
    "inconsistencies",
    "mark_guard_pages",
]

# Opcodes whose operands rust-minidump knows the direction of: only their accesses get
# an `access_type`, only they push or pop implicitly, and only they are checked against
# an access violation's address.
_COMMON = {
    "add", "call", "cmp", "dec", "iret", "iretd", "iretq", "inc", "jmp", "jmpf", "mov",
    "movaps", "movups", "pop", "push", "retf", "ret", "sub",
}  # fmt: skip
# What rust-minidump accepts as the cause of a privileged-instruction exception.
_PRIVILEGED = {
    "cli", "clts", "hlt", "in", "ins", "int", "into", "invd", "invept", "invlpg", "invvpid",
    "iret", "iretd", "iretq", "lgdt", "lidt", "lldt", "lmsw", "ltr", "monitor", "mov",
    "mwait", "out", "outs", "rdmsr", "rdpmc", "rdtsc", "rdtscp", "retf", "sti", "swapgs",
    "sysexit", "sysret", "vmcall", "vmclear", "vmlaunch", "vmptrld", "vmptrst", "vmread",
    "vmresume", "vmwrite", "vmxoff", "vmxon", "wbinvd", "wrmsr", "xsetbv",
}  # fmt: skip
_JUMPS = {"call", "callf", "jmp", "jmpf", "jmpe"}
_RETURNS = {"ret", "retf", "iret", "iretd", "iretq"}
_CONDITIONAL_JUMPS = {
    "jo", "jno", "jb", "jnb", "jz", "jnz", "ja", "jna",
    "js", "jns", "jp", "jnp", "jl", "jge", "jg", "jle",
}  # fmt: skip
# (access type of operand 0, of operand 1) for the common opcodes.
_DIRECTIONS = {
    "add": ("readwrite", "read"), "sub": ("readwrite", "read"), "cmp": ("read", "read"),
    "inc": ("readwrite",), "dec": ("readwrite",), "pop": ("write",),
    "call": ("read",), "jmp": ("read",), "jmpf": ("read",), "push": ("read",),
    "mov": ("write", "read"), "movaps": ("write", "read"), "movups": ("write", "read"),
}  # fmt: skip
_DIVIDE_BY_ZERO = {
    "EXCEPTION_INT_DIVIDE_BY_ZERO", "SIGFPE / FPE_INTDIV", "EXC_ARITHMETIC / EXC_I386_DIV",
}  # fmt: skip
# amd64 addresses whose top 17 bits disagree (48-bit virtual addresses).
NON_CANONICAL = range(0x0000_8000_0000_0000, 0xFFFF_8000_0000_0000)


class Access(Record):
    """A memory access of the crashing instruction (`memory_accesses[]`)."""

    address: int
    size: int | None
    access_type: str | None  # None: an instruction whose operand directions are unknown
    likely_null: bool  # the base register was 0 (or the stack pointer is)
    guard_page: bool = False

    def __init__(
        self,
        address: int,
        size: int | None,
        access_type: str | None,
        likely_null: bool,
        guard_page: bool = False,
    ) -> None:
        self.address = address
        self.size = size
        self.access_type = access_type
        self.likely_null = likely_null
        self.guard_page = guard_page

    _fields = ("address", "size", "access_type", "likely_null", "guard_page")

    def contains(self, address: int) -> bool:
        return self.address <= address < self.address + (self.size or 1)


class OpAnalysis(Record):
    """What the peer learns from the crashing instruction."""

    instruction: str
    opcode: str
    memory_accesses: list[Access] | None  # None: a register the address needs is unknown
    ip_update: int | None
    registers: list[str]  # base and index registers, sorted as rust's BTreeSet

    def __init__(
        self,
        instruction: str,
        opcode: str,
        memory_accesses: list[Access] | None,
        ip_update: int | None,
        registers: list[str],
    ) -> None:
        self.instruction = instruction
        self.opcode = opcode
        self.memory_accesses = memory_accesses
        self.ip_update = ip_update
        self.registers = registers

    _fields = ("instruction", "opcode", "memory_accesses", "ip_update", "registers")

    @property
    def common(self) -> bool:
        return self.opcode in _COMMON

    @property
    def jumps(self) -> bool:
        return self.opcode in _JUMPS or self.opcode in _RETURNS

    @property
    def leaves_ip_alone(self) -> bool:
        """The instruction falls through (the peer's "no instruction pointer update"):
        neither a jump, call or return, nor a conditional jump (whose target it leaves
        undetermined)."""
        return not self.jumps and self.opcode not in _CONDITIONAL_JUMPS


class Adjusted(FrozenRecord):
    """`crash_info.adjusted_address`: kind "null-pointer" (value is the offset from
    null) or "non-canonical" (value is the address really accessed)."""

    kind: str
    value: int

    def __init__(self, kind: str, value: int) -> None:
        self.kind = kind
        self.value = value

    _fields = ("kind", "value")


def analyze(
    context: CpuContext, memory: MemoryMap, stack: MemoryRegion | None
) -> OpAnalysis | None:
    """The instruction at `context`'s IP, or None (not amd64, bytes not in the dump,
    not decodable). `stack` is the crashing thread's stack memory."""
    if context.cpu != "amd64":
        return None
    # the disassembler (iced-x86) is imported only when an amd64 crash needs it
    from stackwalk.disasm import MAX_INSTRUCTION_BYTES, decode

    ip = context.instruction_pointer
    region = memory.region_at(ip)
    if region is None:
        return None
    decoded = decode(region.read(ip, min(MAX_INSTRUCTION_BYTES, region.end - ip)) or b"", ip)
    if decoded is None:
        return None
    regs = context.valid_registers()
    return OpAnalysis(
        instruction=decoded.text(),
        opcode=decoded.opcode,
        memory_accesses=_accesses(decoded, regs),
        ip_update=_ip_update(decoded, regs, memory, stack),
        registers=sorted({r for _, m in decoded.memories for r in m.registers()}),
    )


def _accesses(decoded: Decoded, regs: dict[str, int]) -> list[Access] | None:
    """Each memory operand's access, then the implicit stack access of push/pop/call/
    ret; only instructions that yaxpeax gives a memory size have any, and `lea` none."""
    if not decoded.has_memory_size or decoded.opcode == "lea":
        return []
    directions = _DIRECTIONS.get(decoded.opcode, ())
    out = []
    for index, mem in decoded.memories:
        address = mem.address(regs)
        if address is None:
            return None
        access = directions[index] if index < len(directions) else None
        out.append(Access(address, mem.size, access, regs.get(mem.base or "") == 0))
    size = decoded.memories[0][1].size if decoded.memories else decoded.stack_size
    rsp = regs.get("rsp")
    if rsp is not None and decoded.opcode in ("call", "push"):
        address = (rsp - 8) & U64
        out.append(Access(address, size, "write", address == 0))
    elif rsp is not None and decoded.opcode in ("pop", *_RETURNS):
        out.append(Access(rsp, size, "read", rsp == 0))
    return out


def _ip_update(
    decoded: Decoded, regs: dict[str, int], memory: MemoryMap, stack: MemoryRegion | None
) -> int | None:
    """Where a jump through a register or memory, or a return, sends the IP."""
    if decoded.opcode in _JUMPS and len(decoded.operands) == 1:
        target = decoded.operands[0]
        from stackwalk.disasm import Memory

        if isinstance(target, Memory):
            address = target.address(regs)
            return None if address is None else memory.read_uint(address, 8)
        return regs.get(target)  # None for a relative target
    if decoded.opcode in _RETURNS and "rsp" in regs and stack is not None:
        # the return address at rsp, read from the crashing thread's stack memory only
        return stack.read_uint(regs["rsp"], 8)
    return None


def non_canonical_reported(os_key: str, reason: str, address: int) -> bool:
    """The OS says "non-canonical address" in its own way (the real address is lost)."""
    if os_key == "windows":
        return reason == "EXCEPTION_ACCESS_VIOLATION_READ" and address == U64
    if os_key == "mac":
        return reason == "EXC_BAD_ACCESS / EXC_I386_GPFLT" and address == 0
    if os_key == "linux":
        return reason in ("SIGSEGV / SI_KERNEL", "SIGBUS / SI_KERNEL") and address == 0
    return False


def _targets(analysis: OpAnalysis) -> list[tuple[int, bool]]:
    """(address, likely null) of every access and then of the IP update."""
    out = [(a.address, a.likely_null) for a in analysis.memory_accesses or ()]
    if analysis.ip_update is not None:
        out.append((analysis.ip_update, analysis.ip_update == 0))
    return out


def adjusted_address(
    analysis: OpAnalysis | None, os_key: str, reason: str, address: int
) -> Adjusted | None:
    """A null base plus an offset, else the non-canonical address the OS could not
    report."""
    if analysis is None:
        return None
    for target, likely_null in _targets(analysis):
        if likely_null:
            return Adjusted("null-pointer", target)
    if analysis.memory_accesses is not None and non_canonical_reported(os_key, reason, address):
        for target, _ in _targets(analysis):
            if target in NON_CANONICAL:
                return Adjusted("non-canonical", target)
    return None


def inconsistencies(
    analysis: OpAnalysis | None, os_key: str, reason: str, address: int, ip: int
) -> list[str]:
    """The crash reasons the instruction contradicts, in the peer's order (the
    memory-map check, `access_violation_when_access_allowed`, comes after these)."""
    if analysis is None:
        return []
    out = []
    if reason in ("EXCEPTION_ACCESS_VIOLATION_READ", "EXCEPTION_ACCESS_VIOLATION_WRITE"):
        accesses = analysis.memory_accesses
        if accesses is None or not analysis.common:
            pass
        elif non_canonical_reported(os_key, reason, address):
            unknown_jump = analysis.jumps and analysis.ip_update is None
            if not unknown_jump and not any(t in NON_CANONICAL for t, _ in _targets(analysis)):
                out.append("non_canonical_address_falsely_reported")
        else:
            wanted = ("read", "readwrite") if reason.endswith("READ") else ("write", "readwrite")
            if not any(a.access_type in wanted and a.contains(address) for a in accesses):
                out.append("crashing_access_not_found_in_memory_accesses")
    elif reason == "EXCEPTION_ACCESS_VIOLATION_EXEC" and address != ip:
        out.append("crashing_access_not_found_in_memory_accesses")
    if reason in _DIVIDE_BY_ZERO and analysis.opcode not in ("div", "idiv"):
        out.append("int_div_by_zero_not_possible")
    if reason == "EXCEPTION_PRIV_INSTRUCTION" and analysis.opcode not in _PRIVILEGED:
        out.append("priv_instruction_crash_without_priv_instruction")
    return out


def mark_guard_pages(accesses: list[Access] | None, memory_info: MemoryInfoMap) -> None:
    """An access into a mapped region with no access rights, right next to one the
    process could use, likely hit a guard page (MemoryInfoList only, as in 0.25)."""
    for access in accesses or ():
        index = memory_info.index_at(access.address)
        if index is None or memory_info.regions[index].accessible:
            continue
        region = memory_info.regions[index]
        neighbours = [
            memory_info.regions[i]
            for i in (index - 1, index + 1)
            if 0 <= i < len(memory_info.regions)
        ]
        access.guard_page = any(
            n.accessible and (n.last + 1 == region.start or region.last + 1 == n.start)
            for n in neighbours
        )


def crash_info_fields(
    analysis: OpAnalysis, adjusted: Adjusted | None, hexa: Callable[[int], str]
) -> dict:
    """The crash_info fields the analysis fills, as the peer prints them."""
    accesses = None
    if analysis.memory_accesses is not None:
        accesses = []
        for a in analysis.memory_accesses:
            entry = {"access_type": a.access_type} if a.access_type else {}
            entry["address"] = hexa(a.address)
            if a.guard_page:
                entry["is_likely_guard_page"] = True
            entry["size"] = a.size
            accesses.append(entry)
    out = {"instruction": analysis.instruction, "memory_accesses": accesses}
    if analysis.ip_update is not None:
        out["instruction_pointer_update"] = {"address": hexa(analysis.ip_update)}
    if adjusted is not None:
        key = "offset" if adjusted.kind == "null-pointer" else "address"
        out["adjusted_address"] = {"kind": adjusted.kind, key: hexa(adjusted.value)}
    return out


def bit_flips(
    analysis: OpAnalysis | None,
    adjusted: Adjusted | None,
    address: int,
    cpu: str,
    pointer_width: int | None,
    operation: str | None,
    memory: MemoryInfoMap,
    context: CpuContext | None,
) -> list[dict]:
    """Flips of the crash address (or of the non-canonical address really accessed),
    then of each register the instruction addresses memory with; none after a null
    pointer plus offset."""
    if adjusted is not None and adjusted.kind == "null-pointer":
        return []
    non_canonical = adjusted is not None
    candidates = [(adjusted.value if adjusted else address, None)]
    for name in analysis.registers if analysis and context else ():
        value = context.get(name)
        if value is not None:
            candidates.append((value, name))
    flips = []
    for value, register in candidates:
        flips += possible_bit_flips(
            value,
            cpu,
            pointer_width,
            operation,
            memory,
            context,
            non_canonical=non_canonical,
            source_register=register,
        )
    return flips
