"""One unwound frame: what the unwinders hand to the JSON producer."""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.modules import Module

# rust-minidump's FrameTrust values as printed ("non" is its spelling of None).
TRUSTS = ("context", "cfi", "frame_pointer", "scan", "cfi_scan", "prewalked", "non")


class StackFrame:
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

    def __repr__(self) -> str:
        shown = ("instruction", "context", "trust", "module")
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.instruction, self.context, self.trust, self.module) == (
            other.instruction,
            other.context,
            other.trust,
            other.module,
        )
