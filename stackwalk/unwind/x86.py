"""x86 unwinding: STACK WIN / STACK CFI, then the ebp chain, then stack scanning."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.common import Unwinder, sp_must_grow
from stackwalk.unwind.registers import X86, knows
from stackwalk.unwind.scan import MAX_FRAME_GAP, FramePointerRecovery, known_frame_pointer
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


def frame_pointer_recovery(session: Session, callee: StackFrame) -> FramePointerRecovery:
    """x86: the word below the return address is a saved ebp if it points a little way up
    the stack; otherwise a callee ebp at or above the caller's stack is kept."""
    last_bp = known_frame_pointer(session, callee)

    def recover(index: int, address_of_ip: int, caller_sp: int) -> int | None:
        if index == 0:
            return None
        address_of_bp = address_of_ip - session.spec.width
        bp = session.read(address_of_bp)
        if bp is None:
            return None
        if bp > address_of_ip and bp - address_of_bp <= MAX_FRAME_GAP:
            return bp if session.readable(bp) else None
        if last_bp is not None and last_bp >= caller_sp and session.readable(last_bp):
            return last_bp
        return None

    return recover


UNWINDER = Unwinder(
    by_frame_pointer=caller_by_frame_pointer,
    seems_valid=seems_valid,
    accepts=sp_must_grow,
    recover_fp=frame_pointer_recovery,
)
