"""arm64 unwinding: STACK CFI, the x29 frame chain, then scanning, with pointer
authentication bits stripped from recovered code and frame pointers."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.modules import ModuleMap
from stackwalk.unwind.arm_common import leaf_may_keep_sp
from stackwalk.unwind.common import Unwinder
from stackwalk.unwind.registers import ARM64, knows
from stackwalk.unwind.session import Session

U64 = (1 << 64) - 1
# Apple's default split leaves 47 bits of real address.
APPLE_DEFAULT_MAX_ADDRESS = (1 << 47) - 1


def pointer_auth_mask(modules: ModuleMap) -> int:
    """Bits of a code or frame pointer that are address, not authentication code: up to
    the power of two above the highest module end (at least 47 bits), as rust-minidump
    guesses it without page-table information."""
    loaded = [m for m in modules.modules if m.size > 0]
    highest = max(loaded, key=lambda m: m.base_address, default=None)
    end = min(highest.base_address + highest.size, U64) if highest is not None else 0
    top = max(APPLE_DEFAULT_MAX_ADDRESS, end)
    power = 1 << (top - 1).bit_length() if top > 1 else 1
    return U64 if power > U64 else power - 1


def is_plausible_code_address(address: int) -> bool:
    """Above the null page and below the user-space limit."""
    return 0x1000 <= address <= 0x000F_FFFF_FFFF_FFFF


def caller_by_cfi(
    session: Session, callee: StackFrame, grand_callee: StackFrame | None
) -> CpuContext | None:
    caller = session.caller_by_cfi(callee, grand_callee)
    if caller is None:
        return None
    mask = pointer_auth_mask(session.modules)
    registers = dict(caller.registers)
    registers["pc"] = registers.get("pc", 0) & mask
    for name in ("lr", "fp"):
        if knows(caller, name):
            registers[name] = registers.get(name, 0) & mask
    return CpuContext("arm64", registers, caller.valid)


def caller_by_frame_pointer(session: Session, callee: StackFrame) -> CpuContext | None:
    """`stp x29, x30, [sp, #-16]!; mov x29, sp`: the caller's fp and return address are
    at fp. Leaf functions break this, but assuming a normal frame loses at most one
    caller and resynchronises the walk."""
    context = callee.context
    if not (knows(context, "fp") and knows(context, "sp")):
        return None
    fp = context.registers.get("fp", 0)
    if fp >= U64 - 16:
        return None
    if fp == 0:
        caller_fp, pc, caller_sp = 0, 0, context.registers.get("sp", 0)
    else:
        caller_fp = session.read(fp)
        pc = session.read(fp + 8)
        if caller_fp is None or pc is None:
            return None
        caller_sp = fp + 16
    mask = pointer_auth_mask(session.modules)
    pc &= mask
    if not is_plausible_code_address(pc):
        return None
    return ARM64.unwound(pc, caller_sp, caller_fp & mask)


def seems_valid(session: Session, candidate: int) -> bool:
    return is_plausible_code_address(candidate) and session.seems_return_address(candidate)


UNWINDER = Unwinder(
    by_frame_pointer=caller_by_frame_pointer,
    seems_valid=seems_valid,
    accepts=leaf_may_keep_sp,
    cfi=caller_by_cfi,
)
