"""What the two ARM unwinders share: their end-of-stack rule.

ARM leaf functions may return through the link register without touching the stack, so
the first caller may keep the context frame's stack pointer; after that the stack pointer
must strictly grow, which keeps the walk finite.
"""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.common import NULL_PAGE, stack_pointer
from stackwalk.unwind.session import Session


def leaf_may_keep_sp(session: Session, callee: StackFrame, caller: CpuContext, _trust: str) -> bool:
    if caller.instruction_pointer < NULL_PAGE:
        return False
    sp, last_sp = stack_pointer(caller, session), stack_pointer(callee.context, session)
    if sp > last_sp:
        return True
    return sp == last_sp and callee.trust == "context"
