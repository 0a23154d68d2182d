"""One unwound frame: what the unwinders hand to the JSON producer."""

from __future__ import annotations

from crashproc.records import Record
from stackwalk.context import CpuContext
from stackwalk.modules import Module

# rust-minidump's FrameTrust values as printed ("non" is its spelling of None).
TRUSTS = ("context", "cfi", "frame_pointer", "scan", "cfi_scan", "prewalked", "non")


class StackFrame(Record):
    """`instruction` is the address looked up for symbols: the exact IP for the context
    frame, the return address minus the CPU's adjustment for callers."""

    instruction: int
    context: CpuContext
    trust: str
    module: Module | None = None

    def __init__(
        self, instruction: int, context: CpuContext, trust: str, module: Module | None = None
    ) -> None:
        self.instruction = instruction
        self.context = context
        self.trust = trust
        self.module = module

    _fields = ("instruction", "context", "trust", "module")
