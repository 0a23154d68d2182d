"""CPU register state of one frame: what the reader produces and the unwinders consume."""

from __future__ import annotations

from crashproc.records import Record

# Register names as rust-minidump prints them, per CPU, and which ones hold the
# instruction pointer and the stack pointer.
POINTER_REGISTERS = {
    "x86": ("eip", "esp"),
    "amd64": ("rip", "rsp"),
    "arm": ("pc", "sp"),
    "arm64": ("pc", "sp"),
}
POINTER_WIDTH = {"x86": 4, "amd64": 8, "arm": 4, "arm64": 8}


class CpuContext(Record):
    """Registers of one frame.

    `valid` is None when every register is known (a context read from the dump);
    unwound frames carry only the registers the unwinding rule recovered, because
    rust-minidump prints and trusts only those.
    """

    cpu: str
    registers: dict[str, int]
    valid: frozenset[str] | None = None

    def __init__(
        self, cpu: str, registers: dict[str, int] | None = None, valid: frozenset[str] | None = None
    ) -> None:
        self.cpu = cpu
        self.registers = dict() if registers is None else registers
        self.valid = valid

    _fields = ("cpu", "registers", "valid")

    def get(self, name: str) -> int | None:
        if self.valid is not None and name not in self.valid:
            return None
        return self.registers.get(name)

    @property
    def pointer_width(self) -> int:
        return POINTER_WIDTH[self.cpu]

    @property
    def instruction_pointer(self) -> int:
        return self.registers.get(POINTER_REGISTERS[self.cpu][0], 0)

    @property
    def stack_pointer(self) -> int:
        return self.registers.get(POINTER_REGISTERS[self.cpu][1], 0)

    def valid_registers(self) -> dict[str, int]:
        """The registers this frame really knows (what `registers` in the JSON shows)."""
        if self.valid is None:
            return dict(self.registers)
        return {k: v for k, v in self.registers.items() if k in self.valid}
