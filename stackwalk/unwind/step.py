"""The state one CFI/STACK WIN unwinding step works on: callee registers in, caller out.

The evaluators in `cfi.py` and `win.py` only talk to this object, so they stay pure
functions of (rules, registers, stack bytes) and can be tested without any dump.
rust-minidump's quirks that decide results live here: the caller starts as a copy of the
callee with only callee-saved registers marked valid, values that do not fit the CPU's
register width are refused, and clearing a register uses the name exactly as written
(so an alias such as `x29` does not clear `fp`).
"""

from __future__ import annotations

from stackwalk.context import CpuContext
from stackwalk.memory import MemoryRegion
from stackwalk.unwind.registers import CpuSpec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Callable

U64_MASK = (1 << 64) - 1


class UnwindStep:
    """Reads of the callee frame and writes of the caller frame for one unwinding step."""

    def __init__(
        self,
        spec: CpuSpec,
        callee: CpuContext,
        stack: MemoryRegion | None,
        *,
        instruction: int = 0,
        has_grand_callee: bool = False,
        grand_callee_parameter_size: int | Callable[[], int] = 0,
    ) -> None:
        self.spec = spec
        self.callee = callee
        self.stack = stack
        self.instruction = instruction
        self.has_grand_callee = has_grand_callee
        # Only STACK WIN reads it, and finding it costs a symbol lookup: a callable is asked
        # when (if ever) it is read.
        self._parameter_size = grand_callee_parameter_size
        # Values of every register are copied (rust clones the whole context); only the
        # callee-saved ones the callee really knew start out valid in the caller.
        self.caller_registers = dict(callee.registers)
        # (Matched by exact name: a callee whose fp is valid as `x29` does not forward it.)
        valid = callee.valid
        self.caller_valid = {r for r in spec.callee_saved if valid is None or r in valid}

    @property
    def grand_callee_parameter_size(self) -> int:
        """Size of the stack parameters of the grand callee's function (0 when unknown)."""
        if callable(self._parameter_size):
            self._parameter_size = self._parameter_size()
        return self._parameter_size

    def read_pointer(self, address: int) -> int | None:
        """A register-sized little-endian value from the thread's stack, or None."""
        if self.stack is None or not 0 <= address <= U64_MASK:
            return None
        return self.stack.read_uint(address, self.spec.width)

    def callee_register(self, name: str) -> int | None:
        canonical = self.spec.canonical(name)
        if canonical is None or not self.spec.knows(self.callee.valid, canonical):
            return None
        return self.callee.registers.get(canonical, 0)

    def set_caller_register(self, name: str, value: int) -> bool:
        canonical = self.spec.canonical(name)
        if canonical is None or not 0 <= value <= self.spec.mask:
            return False
        self.caller_valid.add(canonical)
        self.caller_registers[canonical] = value
        return True

    def clear_caller_register(self, name: str) -> None:
        self.caller_valid.discard(name)

    def set_cfa(self, value: int) -> bool:
        """The CFA is the caller's stack pointer on every supported CPU."""
        return self.set_caller_register(self.spec.sp, value)

    def set_ra(self, value: int) -> bool:
        return self.set_caller_register(self.spec.ip, value)

    def caller_context(self) -> CpuContext:
        return CpuContext(self.spec.cpu, dict(self.caller_registers), frozenset(self.caller_valid))
