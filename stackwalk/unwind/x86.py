"""x86 unwinding: STACK WIN / STACK CFI, then the ebp chain, then stack scanning."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.common import Unwinder, sp_must_grow
from stackwalk.unwind.registers import X86, knows
from stackwalk.unwind.scan import x86_frame_pointer_recovery
from stackwalk.unwind.session import Session

U32 = (1 << 32) - 1


def caller_by_frame_pointer(session: Session, callee: StackFrame) -> CpuContext | None:
    """The standard prologue (`push ebp; mov ebp, esp`): the return address is above the
    saved ebp. Deliberately no plausibility checks (more made test.dmp scan extra frames
    that Breakpad does not show)."""
    context = callee.context
    if not knows(context, "ebp"):
        return None
    bp = context.registers.get("ebp", 0)
    if bp >= U32 - 8:
        return None
    ip = session.read(bp + 4)
    caller_bp = session.read(bp)
    if ip is None or caller_bp is None:
        return None
    return X86.unwound(ip, bp + 8, caller_bp)


def seems_valid(session: Session, candidate: int) -> bool:
    return candidate != 0 and session.seems_return_address(candidate)


UNWINDER = Unwinder(
    by_frame_pointer=caller_by_frame_pointer,
    seems_valid=seems_valid,
    accepts=sp_must_grow,
    recover_fp=x86_frame_pointer_recovery,
)
