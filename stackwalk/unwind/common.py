"""The shape every CPU's unwinding step shares: try CFI, frame pointer and scanning in
that order, apply the CPU's end-of-stack checks, and turn the caller's registers into a
frame. Each CPU module describes only what differs, as an `Unwinder`."""

from __future__ import annotations

from collections.abc import Callable

from crashproc.records import FrozenRecord
from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.scan import FramePointerRecovery, scan_for_caller
from stackwalk.unwind.session import Session

# Below this the instruction pointer is taken as "no caller" (first page of memory).
NULL_PAGE = 4096


def cfi_caller(
    session: Session, callee: StackFrame, grand_callee: StackFrame | None
) -> CpuContext | None:
    return session.caller_by_cfi(callee, grand_callee)


class Unwinder(FrozenRecord):
    """A CPU's strategies.

    `seems_valid` is the stack-scan candidate check; `accepts` the end-of-stack checks on
    a found caller (given its trust); `recover_fp` builds the scan's frame-pointer
    recovery, if the CPU has one; `cfi` may wrap the common CFI step.
    """

    by_frame_pointer: Callable[[Session, StackFrame], CpuContext | None]
    seems_valid: Callable[[Session, int], bool]
    accepts: Callable[[Session, StackFrame, CpuContext, str], bool]
    recover_fp: Callable[[Session, StackFrame], FramePointerRecovery] | None = None
    cfi: Callable[[Session, StackFrame, StackFrame | None], CpuContext | None] = cfi_caller

    def __init__(
        self,
        by_frame_pointer: Callable[[Session, StackFrame], CpuContext | None],
        seems_valid: Callable[[Session, int], bool],
        accepts: Callable[[Session, StackFrame, CpuContext, str], bool],
        recover_fp: Callable[[Session, StackFrame], FramePointerRecovery] | None = None,
        cfi: Callable[[Session, StackFrame, StackFrame | None], CpuContext | None] = cfi_caller,
    ) -> None:
        self.by_frame_pointer = by_frame_pointer
        self.seems_valid = seems_valid
        self.accepts = accepts
        self.recover_fp = recover_fp
        self.cfi = cfi

    _fields = ("by_frame_pointer", "seems_valid", "accepts", "recover_fp", "cfi")

    def caller_frame(
        self, session: Session, callee: StackFrame, grand_callee: StackFrame | None
    ) -> StackFrame | None:
        """The callee's caller, or None at the end of the stack."""
        trust = "cfi"
        caller = self.cfi(session, callee, grand_callee)
        if caller is None:
            trust = "frame_pointer"
            caller = self.by_frame_pointer(session, callee)
        if caller is None:
            trust = "scan"
            caller = scan_for_caller(
                session,
                callee,
                lambda value: self.seems_valid(session, value),
                self.recover_fp(session, callee) if self.recover_fp is not None else None,
            )
        if caller is None or not self.accepts(session, callee, caller, trust):
            return None
        # The return address minus the CPU's adjustment points inside the call
        # instruction, where the caller's symbols and CFI are looked up.
        instruction = caller.instruction_pointer - session.spec.return_adjust
        return StackFrame(instruction, caller, trust, session.modules.find(instruction))


def stack_pointer(context: CpuContext, session: Session) -> int:
    """The raw stack pointer value (rust-minidump compares these even when not valid)."""
    return context.registers.get(session.spec.sp, 0)


def sp_must_grow(session: Session, callee: StackFrame, caller: CpuContext, _trust: str) -> bool:
    """x86/amd64 end-of-stack checks: a null-page instruction pointer, or a stack pointer
    that did not move up (which also guarantees the walk terminates)."""
    if caller.instruction_pointer < NULL_PAGE:
        return False
    return stack_pointer(caller, session) > stack_pointer(callee.context, session)
