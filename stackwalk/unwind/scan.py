"""Stack scanning: the last resort when neither CFI nor frame pointers give a caller.

Words above the callee's stack pointer are tried in order; the first one that looks like
a return address (CPU-specific range checks, then the symbol-based check) is taken as the
caller's instruction pointer, and the caller's stack pointer is just above it. The window
is 40 words, four times that right after a trusted frame (Breakpad found the first frame
of a walk is often the most damaged). x86 and amd64 also recover the frame pointer of a
scanned caller (each in its own module).

The wide window follows only the context frame in rust-minidump 0.25 on every CPU (later
releases also widen it after CFI frames; the differential tests pin 0.25's rule).
"""

from __future__ import annotations

from collections.abc import Callable

from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.unwind.registers import knows
from stackwalk.unwind.session import Session

DEFAULT_WINDOW = 40
EXTENDED_WINDOW = DEFAULT_WINDOW * 4
EXTENDED_AFTER = frozenset({"context"})
# Largest plausible x86/amd64 frame, for accepting a recovered frame pointer (Breakpad's
# histogram of real frames: 99.5% are smaller).
MAX_FRAME_GAP = 128 * 1024

# (word index, address of the return address, caller sp) -> recovered frame pointer
FramePointerRecovery = Callable[[int, int, int], int | None]


def scan_for_caller(
    session: Session,
    callee: StackFrame,
    seems_valid: Callable[[int], bool],
    recover_fp: FramePointerRecovery | None = None,
) -> CpuContext | None:
    spec = session.spec
    context = callee.context
    if not knows(context, spec.sp):
        return None
    last_sp = context.registers.get(spec.sp, 0)
    window = EXTENDED_WINDOW if callee.trust in EXTENDED_AFTER else DEFAULT_WINDOW
    for i in range(window):
        address = last_sp + i * spec.width
        if address > spec.mask:
            return None
        value = session.read(address)
        if value is None:
            return None
        if not seems_valid(value):
            continue
        caller_sp = address + spec.width
        if caller_sp > spec.mask:
            return None
        fp = recover_fp(i, address, caller_sp) if recover_fp is not None else None
        return spec.unwound(value, caller_sp, fp)
    return None


def known_frame_pointer(session: Session, callee: StackFrame) -> int | None:
    """The callee's frame pointer, when its context knows it."""
    fp = session.spec.fp
    return callee.context.registers.get(fp, 0) if knows(callee.context, fp) else None
