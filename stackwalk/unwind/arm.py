"""32-bit ARM unwinding: STACK CFI, the r11 frame chain on iOS only, then scanning."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.arm_common import leaf_may_keep_sp
from stackwalk.unwind.common import Unwinder
from stackwalk.unwind.registers import ARM, knows
from stackwalk.unwind.session import Session

U32 = (1 << 32) - 1


def caller_by_frame_pointer(session: Session, callee: StackFrame) -> CpuContext | None:
    """`push {fp, lr}; mov fp, sp`: only trusted on iOS, whose ABI reserves r11 as the
    frame pointer; elsewhere it may be a general register. A zero fp ends the walk."""
    if not session.is_ios:
        return None
    context = callee.context
    if not (knows(context, "fp") and knows(context, "sp")):
        return None
    fp = context.registers.get("fp", 0)
    if fp >= U32 - 8:
        return None
    if fp == 0:
        return ARM.unwound(0, context.registers.get("sp", 0), 0)
    caller_fp = session.read(fp)
    pc = session.read(fp + 4)
    if caller_fp is None or pc is None:
        return None
    return ARM.unwound(pc, fp + 8, caller_fp)


def seems_valid(session: Session, candidate: int) -> bool:
    return session.seems_return_address(candidate)


UNWINDER = Unwinder(
    by_frame_pointer=caller_by_frame_pointer,
    seems_valid=seems_valid,
    accepts=leaf_may_keep_sp,
)
