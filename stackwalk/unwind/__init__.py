"""Unwinding a thread's stack the way rust-minidump 0.25 does (STACK WIN, STACK CFI, frame
pointers, stack scanning), so frames and trust values match its minidump-stackwalk.

`cfi.py` and `win.py` evaluate Breakpad's unwinding rules as pure functions over a
`step.UnwindStep`; the per-CPU strategies and the walk loop build on them.
"""

from stackwalk.unwind.driver import walk_stack

__all__ = ["walk_stack"]
