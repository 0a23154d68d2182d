"""amd64 instructions as yaxpeax-x86 1.x sees them, decoded with iced-x86.

rust-minidump reports the crashing instruction in yaxpeax's words, and derives the
memory it accesses from yaxpeax's operand list. iced-x86 decodes the bytes; this module
rebuilds yaxpeax's view from iced's: the same operands in the same order (x87's
implicit st(0), string instructions' memory operands, `xchg eax, r` with the
accumulator first...), the same names and the same text. Where yaxpeax departs from the
architecture (some 8-bit immediates printed signed, `movsxd` naming a 64-bit
destination, two REX prefixes both counting) we follow yaxpeax, because the point is to
print what the peer prints; and bytes yaxpeax rejects (AMD's XOP and FMA4, VEX mask
instructions, three REX prefixes...) decode to None here too.
"""

from __future__ import annotations

import re

from iced_x86 import Code as C
from iced_x86 import (
    Decoder,
    EncodingKind,
    Instruction,
    MemorySizeExt,
    Mnemonic,
    OpKind,
    Register,
    RegisterExt,
)

from crashproc.records import FrozenRecord, Record

__all__ = ["Decoded", "Memory", "decode"]

MAX_INSTRUCTION_BYTES = 15
U64 = (1 << 64) - 1

_MNEMONIC = {getattr(Mnemonic, n): n.lower() for n in dir(Mnemonic) if n.isupper()}
_REGISTER = {getattr(Register, n): n.lower() for n in dir(Register) if n.isupper()}
_REGISTER.update({getattr(Register, f"ST{i}"): f"st({i})" for i in range(8)})
_REGISTER.update({getattr(Register, f"R{i}L"): f"r{i}b" for i in range(8, 16)})

# yaxpeax's names where they differ from iced's.
_RENAME = {
    "je": "jz", "jne": "jnz", "jae": "jnb", "jbe": "jna",
    "cmove": "cmovz", "cmovne": "cmovnz", "cmovae": "cmovnb", "cmovbe": "cmovna",
    "sete": "setz", "setne": "setnz",
    "loope": "loopz", "loopne": "loopnz",
    "pushfq": "pushf", "popfq": "popf",
    "xlatb": "xlat", "pause": "nop", "reservednop": "nop",
    "fndisi": "fdisi8087_nop", "fneni": "feni8087_nop", "fnsetpm": "fsetpm287_nop",
    "prefetcht0": "prefetch0", "prefetcht1": "prefetch1", "prefetcht2": "prefetch2",
    "jecxz": "jrcxz",
}  # fmt: skip
_SIZE_WORD = {
    1: "byte", 2: "word", 4: "dword", 6: "far", 8: "qword", 10: "mword", 16: "xmmword",
    32: "ymmword", 64: "zmmword",
}  # fmt: skip

# x87 instructions whose memory form yaxpeax shows with st(0) before or after it.
_ST0_FIRST = {
    "fld", "fild", "fbld", "fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr", "fiadd",
    "fimul", "fisub", "fisubr", "fidiv", "fidivr", "fcom", "fcomp", "ficom", "ficomp",
    "fucom", "fucomp",
}  # fmt: skip
_ST0_LAST = {"fst", "fstp", "fist", "fistp", "fisttp", "fbstp", "fstpnce"}
_UNSIGNED_IMMEDIATE = {"in", "out", "int", "enter", "ret", "retf", "pextrw"}
_UNSIGNED_IMMEDIATE_CODES = {C.MOV_R8_IMM8, C.PINSRW_XMM_R32M16_IMM8}


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _hex(value: int) -> str:
    return f"-0x{-value:x}" if value < 0 else f"0x{value:x}"


class Memory(FrozenRecord):
    """A memory operand as yaxpeax sees it: `[base + index * scale + disp]` or an
    absolute address, with the access size (None when yaxpeax has no size for it)."""

    size: int | None
    base: str | None = None
    index: str | None = None
    scale: int = 1
    disp: int = 0
    absolute: int | None = None  # the displayed value of an absolute address
    segment: str | None = None
    decoration: str = ""  # EVEX masking or broadcast, as yaxpeax appends it

    def __init__(
        self,
        size: int | None,
        base: str | None = None,
        index: str | None = None,
        scale: int = 1,
        disp: int = 0,
        absolute: int | None = None,
        segment: str | None = None,
        decoration: str = "",
    ) -> None:
        self.size = size
        self.base = base
        self.index = index
        self.scale = scale
        self.disp = disp
        self.absolute = absolute
        self.segment = segment
        self.decoration = decoration

    _fields = ("size", "base", "index", "scale", "disp", "absolute", "segment", "decoration")

    def _replace(self, **changes):
        """A copy with `changes`."""
        values = {
            "size": self.size,
            "base": self.base,
            "index": self.index,
            "scale": self.scale,
            "disp": self.disp,
            "absolute": self.absolute,
            "segment": self.segment,
            "decoration": self.decoration,
        }
        return type(self)(**{**values, **changes})

    def text(self) -> str:
        word = _SIZE_WORD.get(self.size or 0, "ptr")
        seg = f"{self.segment}:" if self.segment else ""
        if self.absolute is not None:
            return f"{word} {seg}[0x{self.absolute:x}]{self.decoration}"
        parts = [p for p in (self.base, self.index and f"{self.index} * {self.scale}") if p]
        body = " + ".join(parts)
        if self.disp:
            body += f" - 0x{-self.disp:x}" if self.disp < 0 else f" + 0x{self.disp:x}"
        return f"{word} {seg}[{body}]{self.decoration}"

    def address(self, registers: dict[str, int]) -> int | None:
        """The effective address (segment bases ignored), or None when a register the
        address needs is not a 64-bit general register of the context."""
        total = 0
        for name, factor in ((self.base, 1), (self.index, self.scale)):
            if name is None:
                continue
            if name not in registers:
                return None
            total += registers[name] * factor
        return (total + self.disp) & U64

    def registers(self) -> list[str]:
        return [r for r in (self.base, self.index) if r is not None]


Operand = str | Memory


class Decoded(Record):
    """One instruction in yaxpeax's terms: prefixes, opcode name and operands."""

    opcode: str
    operands: list[Operand]
    prefix: str = ""
    stack_size: int | None = None  # implicit stack access size (push/pop/call/ret)

    def __init__(
        self, opcode: str, operands: list[Operand], prefix: str = "", stack_size: int | None = None
    ) -> None:
        self.opcode = opcode
        self.operands = operands
        self.prefix = prefix
        self.stack_size = stack_size

    _fields = ("opcode", "operands", "prefix", "stack_size")

    def text(self) -> str:
        ops = ", ".join(o.text() if isinstance(o, Memory) else o for o in self.operands)
        return f"{self.prefix}{self.opcode}" + (f" {ops}" if ops else "")

    @property
    def memories(self) -> list[tuple[int, Memory]]:
        return [(i, o) for i, o in enumerate(self.operands) if isinstance(o, Memory)]

    @property
    def has_memory_size(self) -> bool:
        """yaxpeax's `mem_size()` is set: an explicit memory operand or a stack access."""
        return bool(self.memories) or self.stack_size is not None


def decode(code: bytes, ip: int) -> Decoded | None:
    """yaxpeax's view of the first instruction in `code`, or None when it does not
    decode (or needs bytes beyond `code`)."""
    code = code[:MAX_INSTRUCTION_BYTES]
    ins = Decoder(64, code, ip=ip).decode()
    if ins.is_invalid:
        return None
    start, run = _rex_run(code[: ins.len])
    if run >= 3:
        return None  # yaxpeax gives up on a third REX prefix in a row
    if run == 2 and code[start] & 0x08 and not code[start + 1] & 0x08:
        # Of two REX prefixes, iced keeps the last; yaxpeax keeps the first one's W.
        patched = bytearray(code)
        patched[start + 1] |= 0x08
        ins = Decoder(64, bytes(patched), ip=ip).decode()
        if ins.is_invalid:
            return None
    if _yaxpeax_rejects(ins, code[start + run - 1] if run else 0):
        return None
    return _Translator(ins, code[: ins.len], start + run).decoded()


_FMA4 = re.compile(r"vfn?m(add|sub)(add|sub)?[ps][sd]$")
_EVEX_SHIFT_IMM = re.compile(r"EVEX_VP(S[RL][LA][WDQ]|S[RL]LDQ)_.*_IMM8$")
_CODE_NAME = {getattr(C, n): n for n in dir(C) if n.isupper()}
_REJECTED_CODES = {C.SERIALIZE, C.PBNDKB}
_LEGACY_PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3}


def _yaxpeax_rejects(ins: Instruction, rex: int) -> bool:
    """Instructions iced decodes and yaxpeax-x86 1.x does not: AMD's XOP and FMA4, the
    VEX mask-register instructions, EVEX shifts by an immediate, newer additions and
    segment registers numbered past gs by REX.R."""
    name = _MNEMONIC[ins.mnemonic]
    if ins.encoding == EncodingKind.XOP or _FMA4.match(name):
        return True
    if ins.encoding == EncodingKind.VEX and (
        name.startswith("k") or (name == "vpclmulqdq" and RegisterExt.is_ymm(ins.op0_register))
    ):
        return True
    if ins.encoding == EncodingKind.EVEX and _EVEX_SHIFT_IMM.match(_CODE_NAME[ins.code]):
        return True
    if ins.code in _SEGMENT_MOVES and rex & 0x04:
        return True
    return ins.code in _REJECTED_CODES


def _rex_run(raw: bytes) -> tuple[int, int]:
    """Where the REX prefixes just before the opcode start, and how many there are."""
    i = start = 0
    while i < len(raw) and (raw[i] in _LEGACY_PREFIXES or 0x40 <= raw[i] <= 0x4F):
        if not 0x40 <= raw[i] <= 0x4F:
            start = i + 1
        i += 1
    return start, i - start


class _Translator:
    """Turns one iced Instruction into yaxpeax's opcode, operands and prefixes."""

    def __init__(self, ins: Instruction, raw: bytes, opcode_at: int) -> None:
        self.ins = ins
        self.raw = raw + bytes(3)
        self.at = opcode_at
        self.name = _MNEMONIC[ins.mnemonic]

    def decoded(self) -> Decoded:
        ins = self.ins
        operands = [self.operand(i) for i in range(ins.op_count)]
        if ins.op_mask != Register.NONE or ins.zeroing_masking:
            mask = f"{{{_REGISTER[ins.op_mask]}}}" if ins.op_mask != Register.NONE else ""
            zero = "{z}" if ins.zeroing_masking else ""
            first = operands[0]
            if isinstance(first, Memory):
                operands[0] = first._replace(decoration=mask + zero)
            else:
                operands[0] = first + mask + zero
        if ins.is_string_instruction:  # movsb, movsw... are all "movs"
            opcode = self.name.rstrip("bwdq")
        else:
            opcode = _RENAME.get(self.name, self.name)
        opcode, operands = self.quirks(opcode, operands)
        return Decoded(opcode, operands, self.prefix(), self.stack_size(opcode))

    def prefix(self) -> str:
        ins = self.ins
        out = ""
        if ins.is_string_instruction:
            if ins.has_repne_prefix:
                out += "repnz "
            elif ins.has_rep_prefix:
                out += "rep "
        if ins.has_lock_prefix:
            out += "lock "
        return out

    def operand(self, i: int) -> Operand:
        ins, kind = self.ins, self.ins.op_kind(i)
        if kind == OpKind.REGISTER:
            return _REGISTER[ins.op_register(i)]
        if kind in (OpKind.NEAR_BRANCH64, OpKind.NEAR_BRANCH32, OpKind.NEAR_BRANCH16):
            relative = _signed(ins.near_branch_target - ins.next_ip, 64)
            return f"$-0x{-relative:x}" if relative < 0 else f"$+0x{relative:x}"
        if kind == OpKind.IMMEDIATE8_2ND:
            return self.immediate(ins.immediate8_2nd, 8)
        if kind in (
            OpKind.IMMEDIATE8, OpKind.IMMEDIATE8TO16, OpKind.IMMEDIATE8TO32, OpKind.IMMEDIATE8TO64
        ):  # fmt: skip
            return self.immediate(ins.immediate8, 8)
        if kind == OpKind.IMMEDIATE16:
            return self.immediate(ins.immediate16, 16)
        if kind in (OpKind.IMMEDIATE32, OpKind.IMMEDIATE32TO64):
            return self.immediate(ins.immediate32, 32)
        if kind == OpKind.IMMEDIATE64:
            return self.immediate(ins.immediate64, 64)
        return self.memory(kind)

    def immediate(self, value: int, bits: int) -> str:
        """yaxpeax prints legacy immediates signed and VEX/EVEX ones unsigned, with
        exceptions it inherited operand by operand."""
        ins = self.ins
        if ins.encoding != EncodingKind.LEGACY:
            unsigned = not self.name.startswith("vpinsr")
        else:
            unsigned = (
                self.name in _UNSIGNED_IMMEDIATE
                or ins.code in _UNSIGNED_IMMEDIATE_CODES
                or (self.name.startswith("ps") and ins.op_count == 2)  # shift by imm8
            )
        if unsigned:
            return _hex(value & ((1 << bits) - 1))
        return _hex(_signed(value, bits))

    def memory(self, kind: int) -> Memory:
        ins = self.ins
        size = MemorySizeExt.size(ins.memory_size)
        size = size if size in _SIZE_WORD else None
        seg = (
            _REGISTER[ins.segment_prefix]
            if ins.segment_prefix in (Register.FS, Register.GS)
            else None
        )
        if kind == OpKind.MEMORY:
            base, index = ins.memory_base, ins.memory_index
            disp = ins.memory_displacement
            if base == Register.RIP or base == Register.EIP:
                disp = disp - ins.next_ip
            if base == Register.NONE and index == Register.NONE:
                width = 64 if ins.code in _MOFFS and ins.memory_displ_size == 8 else 32
                return Memory(
                    size, absolute=disp & ((1 << width) - 1), disp=_signed(disp, width), segment=seg
                )
            broadcast = ""
            if ins.is_broadcast and size:
                lanes = RegisterExt.size(ins.op0_register) // size if size else 0
                broadcast = f"{{1to{lanes}}}"
            return Memory(
                size,
                decoration=broadcast,
                base=None if base == Register.NONE else _REGISTER[base],
                index=None if index == Register.NONE else _REGISTER[index],
                scale=ins.memory_index_scale,
                disp=_signed(disp, 64),
                segment=seg,
            )
        base = {
            OpKind.MEMORY_ESRDI: "rdi", OpKind.MEMORY_ESEDI: "edi",
            OpKind.MEMORY_SEG_RDI: "rdi", OpKind.MEMORY_SEG_EDI: "edi",
            OpKind.MEMORY_SEG_RSI: "rsi", OpKind.MEMORY_SEG_ESI: "esi",
        }.get(kind, "rsi")  # fmt: skip
        if kind in (OpKind.MEMORY_ESRDI, OpKind.MEMORY_ESEDI):
            seg = "es"
        else:
            seg = seg or "ds"
        return Memory(size, base=base, segment=seg)

    def quirks(self, opcode: str, operands: list[Operand]) -> tuple[str, list[Operand]]:
        """Where yaxpeax's operand list differs from iced's."""
        ins, code = self.ins, self.ins.code
        if code in _XCHG_ACCUMULATOR:  # 90+r: the accumulator comes first
            operands.reverse()
        elif self.raw[self.at : self.at + 2] == b"\x0f\x0d":  # AMD's prefetch space
            modrm = self.raw[self.at + 2]
            if modrm >> 6 == 3:
                opcode, operands = "nop", [_gpr(operands[0], 8)]
            else:
                opcode = "prefetchw" if (modrm >> 3) & 7 == 1 else "nop"
                operands = [_resized(operands[0], 64)]
        elif self.name == "cldemote":
            opcode, operands = "nop", [_resized(operands[0], 4)]
        elif opcode == "nop":
            operands = operands[:1]
        elif self.name.startswith(("prefetch", "clflush")):
            operands = [_resized(operands[0], 64)]
        elif self.name in _DESCRIPTOR_TABLES:
            operands = [_resized(operands[0], None)]
        elif self.name == "invlpg":
            operands = [_resized(operands[0], 1)]
        elif self.name in _SYSTEM_WORD and operands and operands[0] in _GPR_SIZE:
            operands = [_gpr(operands[0], 2)]
        elif self.name in ("lfs", "lgs", "lss"):
            far = 10 if RegisterExt.size(ins.op0_register) == 8 else 4
            operands = [_gpr(operands[0], 8), _resized(operands[1], far)]
        elif self.name in ("int3", "int1"):
            opcode, operands = "int", ["0x3" if self.name == "int3" else "0x1"]
        elif opcode in ("jmp", "call") and (ins.is_jmp_far_indirect or ins.is_call_far_indirect):
            opcode, operands = opcode + "f", [_resized(operands[0], 10)]
        elif opcode == "xlat":
            operands = []
        elif code in _WIDENED:  # yaxpeax decodes these with a 64-bit operand size
            operands = [
                _resized(o, 8) if isinstance(o, Memory) else _gpr(o, 8) if o in _GPR_SIZE else o
                for o in operands
            ]
        elif opcode == "lea":
            operands[1] = _resized(operands[1], RegisterExt.size(ins.op0_register))
        elif opcode == "movsxd":
            operands = [
                _REGISTER[RegisterExt.full_register(ins.op0_register)],
                _resized(operands[1], 4),
            ]
        elif code in _SEGMENT_MOVES:
            operands = [
                _gpr(o, 2) if isinstance(o, str) and o in _GPR_SIZE else o for o in operands
            ]
        elif ins.is_string_instruction:
            operands = self.string_operands(opcode, operands)
        elif len(operands) == 1 and opcode in _ST0_FIRST:
            operands.insert(0, "st(0)")
        elif len(operands) == 1 and opcode in _ST0_LAST:
            operands.append("st(0)")
        return opcode, operands

    def string_operands(self, opcode: str, operands: list[Operand]) -> list[Operand]:
        """yaxpeax's string instructions: `cmps` names rdi with ds and rsi with es,
        `lods`/`ins`/`outs` show no segment, `ins`/`outs` of a byte use dl."""
        mems = [o for o in operands if isinstance(o, Memory)]
        regs = [o for o in operands if not isinstance(o, Memory)]
        if opcode == "cmps":
            src, dst = mems
            return [
                Memory(src.size, base=dst.base, segment=src.segment),
                Memory(dst.size, base=src.base, segment=dst.segment),
            ]
        if opcode == "scas":
            return [mems[0], regs[0]]
        if opcode in ("lods", "ins", "outs"):
            mem = Memory(mems[0].size, base=mems[0].base)
            port = "dl" if mem.size == 1 else "dx"
            if opcode == "lods":
                return [regs[0], mem]
            return [mem, port] if opcode == "ins" else [port, mem]
        return operands

    def stack_size(self, opcode: str) -> int | None:
        """The size of the implicit stack access, where yaxpeax records one."""
        code = self.ins.code
        if code in (C.PUSH_R64, C.PUSH_R16, C.POP_R64, C.POP_R16):
            return 8
        if code in (C.PUSH_RM16, C.POP_RM16):
            return 2
        if code in (C.PUSH_RM64, C.POP_RM64):
            return 8
        if opcode in ("call", "ret"):
            return 8
        if opcode == "retf":
            return 10
        return None


_DESCRIPTOR_TABLES = {"sgdt", "sidt", "lgdt", "lidt"}
_SYSTEM_WORD = {"verw", "verr", "ltr", "lldt", "lmsw", "smsw", "sldt", "str"}
_WIDENED = {
    C.BT_RM32_IMM8, C.BTS_RM32_IMM8, C.BTR_RM32_IMM8, C.BTC_RM32_IMM8, C.BSWAP_R32,
}  # fmt: skip
_MOFFS = {
    C.MOV_AL_MOFFS8, C.MOV_AX_MOFFS16, C.MOV_EAX_MOFFS32, C.MOV_RAX_MOFFS64, C.MOV_MOFFS8_AL,
    C.MOV_MOFFS16_AX, C.MOV_MOFFS32_EAX, C.MOV_MOFFS64_RAX,
}  # fmt: skip
_XCHG_ACCUMULATOR = {C.XCHG_R16_AX, C.XCHG_R32_EAX, C.XCHG_R64_RAX}
_SEGMENT_MOVES = {
    C.MOV_RM16_SREG, C.MOV_R32M16_SREG, C.MOV_R64M16_SREG,
    C.MOV_SREG_RM16, C.MOV_SREG_R32M16, C.MOV_SREG_R64M16,
}  # fmt: skip
_GPR_FAMILIES = [
    ("al", "ax", "eax", "rax"), ("cl", "cx", "ecx", "rcx"), ("dl", "dx", "edx", "rdx"),
    ("bl", "bx", "ebx", "rbx"), ("spl", "sp", "esp", "rsp"), ("bpl", "bp", "ebp", "rbp"),
    ("sil", "si", "esi", "rsi"), ("dil", "di", "edi", "rdi"),
    *((f"r{i}b", f"r{i}w", f"r{i}d", f"r{i}") for i in range(8, 16)),
]  # fmt: skip
_GPR_SIZE = {name: (fam, 1 << i) for fam in _GPR_FAMILIES for i, name in enumerate(fam)}


def _gpr(name: str, size: int) -> str:
    """The general register of `name`'s family with `size` bytes."""
    family, _ = _GPR_SIZE[name]
    return family[(1, 2, 4, 8).index(size)]


def _resized(operand: Operand, size: int | None) -> Operand:
    return operand._replace(size=size) if isinstance(operand, Memory) else operand
