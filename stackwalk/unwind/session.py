"""What every unwinding step of one thread shares: the stack, modules, symbols and OS.

Also the symbol-based questions the strategies ask (a frame's parameter size for STACK
WIN, whether a stack word looks like a return address) and the CFI step itself, which is
the same on every CPU: find the module, ask its symbols for STACK WIN / STACK CFI at the
callee's address, and evaluate them against the callee's registers.
"""

from __future__ import annotations

from collections.abc import Callable

from crashproc.records import Record
from stackwalk.context import CpuContext
from stackwalk.frames import StackFrame
from stackwalk.memory import MemoryRegion
from stackwalk.modules import Module, ModuleMap
from stackwalk.unwind.cfi import walk_with_cfi
from stackwalk.unwind.registers import CpuSpec, knows
from stackwalk.unwind.step import UnwindStep
from stackwalk.unwind.win import walk_with_stack_win

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from symbols.symfile import SymbolFile

U64 = (1 << 64) - 1

SymbolsFor = Callable[[Module], "SymbolFile | None"]


class Session(Record):
    spec: CpuSpec
    stack: MemoryRegion
    modules: ModuleMap
    symbols_for: SymbolsFor
    system_os: str | None = None
    _parameter_sizes: dict[int, int]

    def __init__(
        self,
        spec: CpuSpec,
        stack: MemoryRegion,
        modules: ModuleMap,
        symbols_for: SymbolsFor,
        system_os: str | None = None,
        _parameter_sizes: dict[int, int] | None = None,
    ) -> None:
        self.spec = spec
        self.stack = stack
        self.modules = modules
        self.symbols_for = symbols_for
        self.system_os = system_os
        self._parameter_sizes = dict() if _parameter_sizes is None else _parameter_sizes

    _fields = ("spec", "stack", "modules", "symbols_for", "system_os", "_parameter_sizes")

    # -- memory -------------------------------------------------------------------------

    def read(self, address: int) -> int | None:
        """A pointer-sized value from the thread's stack (the only memory rust-minidump
        reads while unwinding), or None outside it."""
        if not 0 <= address <= U64:
            return None
        return self.stack.read_uint(address, self.spec.width)

    def readable(self, address: int) -> bool:
        return self.read(address) is not None

    # -- operating system ---------------------------------------------------------------

    def os_is(self, *names: str) -> bool:
        """Compare with rust-minidump's OS, given as printed ("Windows NT", "iOS") or as
        a short lower-case name ("windows", "ios")."""
        if self.system_os is None:
            return False
        return self.system_os.strip().lower() in names

    @property
    def is_windows(self) -> bool:
        return self.os_is("windows nt", "windows")

    @property
    def is_ios(self) -> bool:
        return self.os_is("ios")

    # -- symbols --------------------------------------------------------------------------

    def symbols(self, module: Module) -> SymbolFile | None:
        return self.symbols_for(module)

    def parameter_size(self, frame: StackFrame | None) -> int:
        """Size of the stack parameters of the function `frame` is in (0 when unknown):
        STACK WIN needs the grand callee's to find where its callee's frame ends."""
        if frame is None or frame.module is None:
            return 0
        key = id(frame)
        if key not in self._parameter_sizes:
            size = 0
            symbols = self.symbols(frame.module)
            if symbols is not None and frame.instruction >= frame.module.base_address:
                found = symbols.lookup(frame.instruction - frame.module.base_address)
                if found is not None:
                    size = found.parameter_size
            self._parameter_sizes[key] = size
        return self._parameter_sizes[key]

    def seems_return_address(self, candidate: int) -> bool:
        """rust-minidump's symbol-based check of a stack-scan candidate.

        The address before the candidate is used (a call to a noreturn function may be the
        last instruction of its caller). It must be inside a module; when the module has
        symbols a function (FUNC or PUBLIC) must cover it; without symbols any address in
        a module passes. Asking counts as a symbol lookup for the module.
        """
        address = candidate - 1
        if address <= 0:
            return False
        module = self.modules.find(address)
        if module is None:
            return False
        symbols = self.symbols(module)
        if symbols is None:
            return True
        found = symbols.lookup(address - module.base_address)
        return found is not None and found.function != ""

    # -- the CFI step -------------------------------------------------------------------

    def unwind_step(self, callee: StackFrame, grand_callee: StackFrame | None) -> UnwindStep:
        return UnwindStep(
            self.spec,
            callee.context,
            self.stack,
            instruction=callee.instruction,
            has_grand_callee=grand_callee is not None,
            grand_callee_parameter_size=lambda: self.parameter_size(grand_callee),
        )

    def walk_frame(self, step: UnwindStep) -> bool:
        """Evaluate the module's STACK WIN record (FrameData, else FPO) for the callee's
        address, falling back to its STACK CFI rules; False without symbols or rules."""
        module = self.modules.find(step.instruction)
        if module is None or step.instruction < module.base_address:
            return False
        symbols = self.symbols(module)
        if symbols is None:
            return False
        address = step.instruction - module.base_address
        record = symbols.stack_win(address)
        if record is not None and walk_with_stack_win(record, step):
            return True
        rules = symbols.cfi_rules(address)
        if rules is None:
            return False
        return walk_with_cfi(rules, step)

    def caller_by_cfi(
        self, callee: StackFrame, grand_callee: StackFrame | None
    ) -> CpuContext | None:
        """The caller's registers from STACK WIN / STACK CFI; the callee must know its
        stack pointer. No plausibility checks (Breakpad and rust-minidump make none)."""
        if not knows(callee.context, self.spec.sp):
            return None
        step = self.unwind_step(callee, grand_callee)
        if not self.walk_frame(step):
            return None
        return step.caller_context()
