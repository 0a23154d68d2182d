"""amd64 unwinding: STACK CFI, then the rbp chain (checked), then stack scanning."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.common import Unwinder, sp_must_grow
from stackwalk.unwind.registers import AMD64, knows
from stackwalk.unwind.scan import MAX_FRAME_GAP, FramePointerRecovery, known_frame_pointer
from stackwalk.unwind.session import Session

U64 = (1 << 64) - 1


def is_non_canonical(address: int) -> bool:
    """Outside the two 48-bit canonical halves of the x86-64 address space."""
    return 0x7FFF_FFFF_FFFF < address < 0xFFFF_8000_0000_0000


def caller_by_frame_pointer(session: Session, callee: StackFrame) -> CpuContext | None:
    """The `push rbp; mov rbp, rsp` chain, checked for coherence (frame pointers above the
    stack pointers, both inside the stack, a canonical return address).

    Not on Windows, where rbp may point anywhere into the frame (UNWIND_INFO would be
    needed); rust-minidump 0.25 skips straight to scanning there.
    """
    if session.is_windows:
        return None
    context = callee.context
    if not (knows(context, "rbp") and knows(context, "rsp")):
        return None
    bp = context.registers.get("rbp", 0)
    sp = context.registers.get("rsp", 0)
    if bp >= U64 - 16:
        return None
    ip = session.read(bp + 8)
    caller_bp = session.read(bp)
    if ip is None or caller_bp is None:
        return None
    caller_sp = bp + 16
    if caller_bp < caller_sp or not session.readable(caller_bp):
        return None
    if is_non_canonical(ip) or caller_sp <= sp or not session.readable(caller_sp):
        return None
    return AMD64.unwound(ip, caller_sp, caller_bp)


def seems_valid(session: Session, candidate: int) -> bool:
    if candidate == 0 or is_non_canonical(candidate):
        return False
    return session.seems_return_address(candidate)


def frame_pointer_recovery(session: Session, callee: StackFrame) -> FramePointerRecovery:
    """amd64: like x86, but the saved rbp is only believed when the callee's rbp points at
    it, and a kept callee rbp is not checked against the stack memory."""
    last_bp = known_frame_pointer(session, callee)

    def recover(index: int, address_of_ip: int, caller_sp: int) -> int | None:
        if last_bp is None or index == 0:
            return None
        address_of_bp = address_of_ip - session.spec.width
        bp = session.read(address_of_bp)
        if bp is None:
            return None
        if last_bp == address_of_bp and bp > address_of_ip and bp - address_of_bp <= MAX_FRAME_GAP:
            return bp if session.readable(bp) else None
        if last_bp >= caller_sp:
            return last_bp
        return None

    return recover


UNWINDER = Unwinder(
    by_frame_pointer=caller_by_frame_pointer,
    seems_valid=seems_valid,
    accepts=sp_must_grow,
    recover_fp=frame_pointer_recovery,
)
